#!/bin/sh
# The bundled model (data/ko-fastconformer-ctc.gguf, through SORI_MODEL: it comes
# with its LM whatever names it) loads and transcribes the bundled samples
# (data/samples/samples.tsv) offline and through the streaming API (cache-aware:
# the same text as offline), and the transcripts are scored against the
# samples' text by cer_check (CER bound and exact matches given by CMake: the
# bundled model's measured level, see docs/model-card-ko.md). Hotwords: a list
# of phrases the samples do not contain changes no transcript, and the
# question sample's words that greedy decoding gets wrong, listed as
# hotwords, come out right (without the LM), offline and streaming.
# usage: default_model_test.sh SORI CER_CHECK DATA_DIR MAX_CER MIN_EXACT
sori=$1 cer_check=$2 data=$3 max_cer=$4 min_exact=$5
[ -f "$data/ko-fastconformer-ctc.gguf" ] || { echo "FAILED: $data/ko-fastconformer-ctc.gguf is missing" >&2; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
tail -n +2 "$data/samples/samples.tsv" | cut -f1,2 >"$tmp/refs"
printf '# phrases of a call center, none of them in the samples\n고객센터\n환불 규정\n상담원\n예약 번호\n' >"$tmp/others"
while IFS='	' read -r file text; do
  off=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 "$data/samples/$file" 2>"$tmp/err") ||
    { echo "FAILED: $file: exit $?" >&2; cat "$tmp/err" >&2; fail=1; }
  str=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 --stream "$data/samples/$file" 2>"$tmp/err") ||
    { echo "FAILED: $file --stream: exit $?" >&2; cat "$tmp/err" >&2; fail=1; }
  [ -n "$off" ] || { echo "FAILED: $file: empty transcript" >&2; fail=1; }
  [ "$off" = "$str" ] || { echo "FAILED: $file: streaming '$str' differs from offline '$off'" >&2; fail=1; }
  oth=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 --hotwords "$tmp/others" "$data/samples/$file" 2>&1)
  [ "$off" = "$oth" ] || { echo "FAILED: $file: hotwords it does not contain changed '$off' to '$oth'" >&2; fail=1; }
  printf '%s\t%s\n' "$text" "$off" >>"$tmp/pairs"
done <"$tmp/refs"
# The end of input in --stream: a clip cut 2.9 s in (0.3 s after its last word, not a whole
# number of the CLI's 100 ms packets) must stream to the offline text; the CLI once ended its loop
# on the short last packet before signalling the end of input, and lost the final word.
le32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)))"; }
src="$data/samples/ko_16k_question.wav" bytes=94000  # 47,000 16-bit samples; a 44-byte header
{ printf RIFF; le32 $((36 + bytes)); head -c 40 "$src" | tail -c 32; le32 $bytes; tail -c +45 "$src" | head -c $bytes; } >"$tmp/cut.wav"
off=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 "$tmp/cut.wav" 2>&1)
str=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 --stream "$tmp/cut.wav" 2>&1)
[ -n "$off" ] && [ "$off" = "$str" ] ||
  { echo "FAILED: a clip ending inside a packet: streaming '$str', offline '$off'" >&2; fail=1; }
# hotwords: decoded without the LM, the question sample's 설날이 and 며칠 (greedy: 설라리 몇칠) come
# out right when listed as hotwords (the characters are compared; spaces may differ)
printf '설날이\n며칠\n' >"$tmp/hw"
ref=$(grep '^ko_16k_question.wav	' "$tmp/refs" | cut -f2 | tr -d ' ')
for mode in "" --stream; do
  got=$(env SORI_MODEL="$data/ko-fastconformer-ctc.gguf" "$sori" transcribe --threads 1 --lm none $mode --hotwords "$tmp/hw" "$data/samples/ko_16k_question.wav" 2>&1)
  [ -n "$ref" ] && [ "$(printf '%s' "$got" | tr -d ' ')" = "$ref" ] ||
    { echo "FAILED: the hotwords 설날이, 며칠 ${mode:-offline}: '$got', expected '$ref' (spaces aside)" >&2; fail=1; }
done
"$cer_check" --max-cer "$max_cer" --min-exact "$min_exact" <"$tmp/pairs" || fail=1
exit $fail
