#!/bin/sh
# The default model of `sori transcribe` when tools/setup.sh could fetch Whisper base
# (data/whisper-base-f16.gguf): with no --model and no SORI_MODEL it is used, transcribes the ten
# real clips of data/samples/real (CC BY, Zeroth-Korean) in one run within 15 % CER of their
# transcripts (measured 10.2 %: docs/benchmarks.md), and the JSON names the model. Skipped (77)
# without the file.
# usage: default_whisper_test.sh SORI CER_CHECK DATA_DIR
sori=$1 cer_check=$2 data=$3
[ -f "$data/whisper-base-f16.gguf" ] || { echo "SKIP: $data/whisper-base-f16.gguf is absent (tools/setup.sh fetches it)"; exit 77; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fail=0
env -u SORI_MODEL "$sori" transcribe --format tsv "$data/samples/real" >"$tmp/real" 2>"$tmp/err" ||
  { echo "FAILED: the default (Whisper) on data/samples/real: exit $?" >&2; cat "$tmp/err" >&2; fail=1; }
tail -n +2 "$data/samples/real/samples.tsv" | while IFS='	' read -r file text rest; do
  got=$(grep "/$file	" "$tmp/real" | cut -f2)
  printf '%s\t%s\n' "$text" "$got"
done >"$tmp/real_pairs"
[ "$(wc -l <"$tmp/real_pairs")" -eq 10 ] || { echo "FAILED: the default did not transcribe the ten real clips" >&2; fail=1; }
"$cer_check" --max-cer 0.15 --min-exact 0 <"$tmp/real_pairs" || fail=1
env -u SORI_MODEL "$sori" transcribe --format json "$data/samples/real/104_003_0019.flac" 2>&1 | grep -q '"model": "whisper-base"' ||
  { echo "FAILED: the default model is not Whisper base although data/whisper-base-f16.gguf is here" >&2; fail=1; }
exit $fail
