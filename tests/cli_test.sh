#!/bin/sh
# The sori command: version, self-check, argument errors, and the same binary
# running where the CUDA module or the CUDA libraries cannot be loaded.
# usage: cli_test.sh SORI CC [MAKE_AUDIO_FILES]
sori=$1 cc=$2 make_audio=${3:-}
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAILED: $*" >&2; }
expect() { # expect CODE DESCRIPTION -- command...
  want=$1 what=$2; shift 3
  "$@" >"$tmp/out" 2>&1; got=$?
  if [ "$got" -eq "$want" ]; then ok; else bad "$what: exit $got, expected $want"; cat "$tmp/out" >&2; fi
}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

expect 0 "version" -- "$sori" --version
grep -q '^sori [0-9]' "$tmp/out" && grep -q '^backends: cpu' "$tmp/out" && ok || bad "version output"
expect 0 "check on the CPU" -- "$sori" check --device cpu --threads 2
grep -q 'self-check passed' "$tmp/out" && ok || bad "self-check output"
expect 2 "bad device" -- "$sori" check --device gpu7
expect 2 "bad threads" -- "$sori" check --threads 0
expect 2 "unknown command" -- "$sori" frobnicate
expect 2 "no command" -- "$sori"
expect 0 "help" -- "$sori" --help

# sori lm on the tiny random llama fixture (its vocabulary: bytes)
tiny=$(dirname "$0")/fixtures/lm/llama.f32.gguf
expect 0 "lm generate" -- "$sori" lm generate --lm "$tiny" --prompt "abc" --max-tokens 5
grep -q '5 generated' "$tmp/out" && grep -q '(max tokens)' "$tmp/out" && ok || bad "lm generate summary"
expect 0 "lm generate, chatml" -- "$sori" lm generate --lm "$tiny" --prompt "abc" --chat --template chatml --max-tokens 3
grep -q '^3 prompt tokens' "$tmp/out" && bad "the chat prompt was not formatted" || ok
expect 1 "lm generate --chat without a template" -- "$sori" lm generate --lm "$tiny" --prompt "abc" --chat
grep -q 'no chat template' "$tmp/out" && ok || bad "no-template message"
expect 1 "lm generate, unknown template" -- "$sori" lm generate --lm "$tiny" --prompt "abc" --chat --template "{{ foo }}"
expect 1 "lm generate, prompt over the context" -- "$sori" lm generate --lm "$tiny" --ctx 8 --prompt "0123456789"
grep -q 'context' "$tmp/out" && ok || bad "context message"
expect 2 "lm generate without a prompt" -- "$sori" lm generate --lm "$tiny"
printf 'abc\ndef\n' >"$tmp/lines.txt"
expect 0 "lm score" -- "$sori" lm score --lm "$tiny" "$tmp/lines.txt"
grep -q 'perplexity' "$tmp/out" && ok || bad "lm score perplexity"

# sori serve --rescore: refused before it listens
if "$sori" serve --help >/dev/null 2>&1; then
  expect 1 "serve with a missing rescoring LM" -- "$sori" serve --listen 127.0.0.1:1 --rescore "$tmp/none.gguf"
  grep -q 'none.gguf' "$tmp/out" && ok || bad "serve --rescore message"
  expect 2 "serve --nbest 1" -- "$sori" serve --nbest 1
fi

# sori text
expect 0 "text g2p" -- "$sori" text g2p "국물" "옷 한 벌"
[ "$(sed -n 1p "$tmp/out")" = "궁물" ] && [ "$(sed -n 2p "$tmp/out")" = "오 탄 벌" ] && ok || bad "text g2p output"
expect 0 "text g2p normalizes first" -- "$sori" text g2p "10월, 6·25" "mp3 냇가"
[ "$(sed -n 1p "$tmp/out")" = "시월, 유기오" ] && [ "$(sed -n 2p "$tmp/out")" = "엠피쓰리 내까" ] && ok ||
  bad "text g2p normalized output"
expect 0 "text g2p --raw" -- "$sori" text g2p --raw "10월 국물"
[ "$(cat "$tmp/out")" = "10월 궁물" ] && ok || bad "text g2p --raw output"
expect 2 "text g2p: bad option" -- "$sori" text g2p --frob
printf 'a\377b\n좋고\n' | "$sori" text g2p >"$tmp/g2p.out" 2>"$tmp/g2p.err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/g2p.out")" -eq 2 ] && [ "$(sed -n 2p "$tmp/g2p.out")" = "조코" ] &&
  grep -q 'line 1' "$tmp/g2p.err" && ok || bad "text g2p: a bad line gives an empty line, exit 1"
expect 2 "text: unknown subcommand" -- "$sori" text frobnicate
expect 0 "text redact" -- "$sori" text redact "제 번호는 공일공 일이삼사 오육칠팔이에요" "3명이 왔어요"
[ "$(sed -n 1p "$tmp/out")" = "제 번호는 [전화번호]이에요" ] && [ "$(sed -n 2p "$tmp/out")" = "3명이 왔어요" ] && ok ||
  bad "text redact output"
expect 0 "text redact json" -- "$sori" text redact --format json "010-1234-5678"
grep -q '"category": "phone", "begin": 0, "end": 13' "$tmp/out" && ok || bad "text redact json"
expect 2 "text redact bad option" -- "$sori" text redact --frob
expect 0 "text normalize" -- "$sori" text normalize "오후 3:30에 010-1234-5678로" "사과 3개"
[ "$(sed -n 1p "$tmp/out")" = "오후 세시 삼십분에 공일공 일이삼사 오육칠팔로" ] && [ "$(sed -n 2p "$tmp/out")" = "사과 세개" ] &&
  ok || bad "text normalize output"
expect 0 "text normalize --zero yeong" -- "$sori" text normalize --zero yeong "010"
[ "$(cat "$tmp/out")" = "영일영" ] && ok || bad "text normalize --zero yeong output"
expect 2 "text normalize bad option" -- "$sori" text normalize --zero none
# Hanja: without a table (a missing file) they stay as written; a table that is no table (binary
# bytes) is read as one with no usable line
expect 0 "text normalize: no Hanja table" -- env SORI_HANJA_TABLE=/nonexistent/hanja.txt "$sori" text normalize "大韓 3개"
[ "$(cat "$tmp/out")" = "大韓 세개" ] && ok || bad "text normalize: Hanja without a table"
head -c 4096 "$sori" >"$tmp/not_a_table"
expect 0 "text normalize: a binary Hanja table" -- env SORI_HANJA_TABLE="$tmp/not_a_table" "$sori" text normalize "大韓"
[ "$(cat "$tmp/out")" = "大韓" ] && ok || bad "text normalize: Hanja with a binary table"
expect 0 "text itn --options korean" -- "$sori" text itn --options korean "요금은 삼만 오천 원이에요"
[ "$(cat "$tmp/out")" = "요금은 35,000원이에요" ] && ok || bad "text itn --options korean output"
expect 2 "text itn --options bogus" -- "$sori" text itn --options bogus "x"
grep -q "bogus" "$tmp/out" && ok || bad "text itn: names the unknown option"
expect 0 "text itn" -- "$sori" text itn "요금은 삼만오천 원이고 번호는 공일공 일이삼사 오육칠팔이에요"
[ "$(cat "$tmp/out")" = "요금은 ₩35000이고 번호는 010-1234-5678이에요" ] && ok || bad "text itn output"
fix=$(dirname "$0")/fixtures/moderate/tiny.gguf
expect 0 "text moderate" -- "$sori" text moderate --model "$fix" "안녕하세요" "이 병신 같은 새끼야"
[ "$(sed -n 2p "$tmp/out" | cut -f1)" != ok ] && grep -q '^ok	0\.[0-9]\{4\}$' "$tmp/out" && ok ||
  bad "text moderate output"
expect 0 "text moderate json" -- "$sori" text moderate --model "$fix" --format json "안녕하세요"
grep -q '"label": "ok", "score": 0\.[0-9]*, "scores": {"profanity": ' "$tmp/out" && ok || bad "text moderate json"
printf 'a\377b\n좋아요\n' | "$sori" text moderate --model "$fix" >"$tmp/mod.out" 2>"$tmp/mod.err"
[ $? -eq 1 ] && [ "$(wc -l <"$tmp/mod.out")" -eq 2 ] && [ -z "$(sed -n 1p "$tmp/mod.out")" ] &&
  grep -q 'line 1: moderate: invalid UTF-8 at byte 1' "$tmp/mod.err" && ok || bad "text moderate: a bad line"
expect 2 "text moderate with a missing model" -- "$sori" text moderate --model "$tmp/none.gguf" "x"
grep -q "none.gguf" "$tmp/out" && ok || bad "text moderate: names the missing model"
expect 2 "text moderate bad option" -- "$sori" text moderate --frob
expect 0 "text moderate with the bundled model" -- "$sori" text moderate "너 죽여버린다"
[ "$(cut -f1 "$tmp/out")" = threat ] && ok || bad "text moderate: the bundled model (data/ko-moderate.gguf)"

# sori features (when the build has the audio front end)
if "$sori" features --help >/dev/null 2>&1; then
  wav=$(dirname "$0")/fixtures/stereo_22k.wav
  expect 0 "features kaldi" -- "$sori" features "$wav" -o "$tmp/f.npy"
  head -c 6 "$tmp/f.npy" | od -c | grep -q 'N   U   M   P   Y' && ok || bad "features: not an .npy file"
  grep -q "'shape': (8, 80)" "$tmp/f.npy" && ok || bad "features: shape (8 frames of 0.1 s x 80)"
  expect 0 "features nemo, channel 1" -- "$sori" features "$wav" --kind nemo --channel 1 --mel-bins 64 -o "$tmp/g.npy"
  grep -q "'shape': (11, 64)" "$tmp/g.npy" && ok || bad "features nemo: shape"
  expect 1 "features of a missing file" -- "$sori" features "$tmp/missing.wav" -o "$tmp/x.npy"
  grep -q "missing.wav" "$tmp/out" && ok || bad "the error names the file"
  expect 1 "features of a bad channel" -- "$sori" features "$wav" --channel 7 -o "$tmp/x.npy"
  expect 2 "features without -o" -- "$sori" features "$wav"
  expect 2 "features with a bad kind" -- "$sori" features "$wav" --kind mfcc -o "$tmp/x.npy"
  # sori transcribe with the golden fixture model (random weights: the text is
  # meaningless, the structure is what is checked)
  model=$(dirname "$0")/fixtures/conformer/ctc_striding4.gguf
  expect 1 "transcribe with a missing model" -- "$sori" transcribe --model "$tmp/none.gguf" "$wav"
  grep -q "none.gguf" "$tmp/out" && ok || bad "transcribe: names the missing model"
  expect 1 "transcribe with a missing SORI_MODEL" -- env SORI_MODEL="$tmp/none.gguf" "$sori" transcribe "$wav"
  expect 0 "transcribe text" -- "$sori" transcribe --model "$model" "$wav"
  [ "$(wc -l <"$tmp/out")" -eq 1 ] && ok || bad "transcribe text: one line"
  expect 0 "transcribe json" -- "$sori" transcribe --model "$model" --format json --channel each "$wav"
  [ "$(grep -c '"channel": ' "$tmp/out")" -eq 2 ] && grep -q '"words": \[' "$tmp/out" && grep -q '"rtf": ' "$tmp/out" && ok || bad "transcribe json: two channels with words and rtf"
  expect 0 "transcribe tsv" -- "$sori" transcribe --model "$model" --format tsv "$wav"
  grep -q "stereo_22k.wav	" "$tmp/out" && ok || bad "transcribe tsv: path, tab, text"
  expect 0 "transcribe vtt" -- "$sori" transcribe --model "$model" --format vtt "$wav"
  head -1 "$tmp/out" | grep -q '^WEBVTT' && ok || bad "transcribe vtt header"
  expect 0 "transcribe from stdin" -- sh -c "\"$sori\" transcribe --model \"$model\" - <\"$wav\""
  expect 2 "transcribe bad format" -- "$sori" transcribe --model "$model" --format doc "$wav"
  expect 1 "transcribe with a bad model" -- "$sori" transcribe --model "$wav" "$wav"
  expect 1 "rnnt decoder on a CTC model" -- "$sori" transcribe --model "$model" --decoder rnnt "$wav"
  grep -q "no RNN-T head" "$tmp/out" && ok || bad "transcribe: says the model has no RNN-T head"
  expect 2 "transcribe bad decoder" -- "$sori" transcribe --model "$model" --decoder beam "$wav"
  # beam search and LM options
  expect 0 "transcribe --beam without an LM" -- "$sori" transcribe --model "$model" --beam 4 "$wav"
  expect 2 "transcribe bad beam" -- "$sori" transcribe --model "$model" --beam 0 "$wav"
  expect 2 "transcribe --lm-weight without --lm-bonus" -- "$sori" transcribe --model "$model" --lm x.arpa --lm-weight 0.5 "$wav"
  expect 2 "transcribe LM weights without an LM" -- "$sori" transcribe --model "$model" --lm-weight 0.5 --lm-bonus 1 "$wav"
  expect 1 "transcribe with a missing LM" -- "$sori" transcribe --model "$model" --lm "$tmp/none.arpa" "$wav"
  grep -q "none.arpa" "$tmp/out" && ok || bad "transcribe: names the missing LM"
  expect 1 "transcribe with an LM of other words" -- "$sori" transcribe --model "$model" --lm "$(dirname "$0")/fixtures/ngram/small.arpa" "$wav"
  grep -q "not this model's tokens" "$tmp/out" && ok || bad "transcribe: says the LM's words are not the model's tokens"
  # hotwords
  printf '# names\n\353\202\230\354\235\264 :2\n' >"$tmp/hw.txt"   # 나이, the fixture model's characters
  expect 0 "transcribe --hotwords" -- "$sori" transcribe --model "$model" --hotwords "$tmp/hw.txt" "$wav"
  expect 1 "transcribe with a missing hotword file" -- "$sori" transcribe --model "$model" --hotwords "$tmp/none.txt" "$wav"
  grep -q "none.txt" "$tmp/out" && ok || bad "transcribe: names the missing hotword file"
  printf 'hello\n' >"$tmp/hw_latin.txt"
  expect 1 "transcribe with hotwords the model cannot write" -- "$sori" transcribe --model "$model" --hotwords "$tmp/hw_latin.txt" "$wav"
  grep -q "line 1.*not a character the model can write" "$tmp/out" && ok || bad "transcribe: names the hotword line"
  expect 2 "transcribe bad --hotword-score" -- "$sori" transcribe --model "$model" --hotwords "$tmp/hw.txt" --hotword-score 0 "$wav"
  expect 1 "transcribe with a binary hotword file" -- "$sori" transcribe --model "$model" --hotwords "$wav" "$wav"
  expect 0 "transcribe --stream (buffered, offline model)" -- "$sori" transcribe --model "$model" --stream --format json "$wav"
  grep -q '"segments": \[' "$tmp/out" && ok || bad "transcribe --stream: json with segments"
  hybrid="$(dirname "$model")/../stream/hybrid_stream.gguf"
  if [ -f "$hybrid" ]; then
    expect 0 "hybrid model, RNN-T" -- "$sori" transcribe --model "$hybrid" --format tsv "$wav"
    off="$(cut -f2 "$tmp/out")"
    expect 0 "hybrid model, RNN-T, streaming" -- "$sori" transcribe --model "$hybrid" --stream --format tsv "$wav"
    [ -n "$off" ] && [ "$(cut -f2 "$tmp/out")" = "$off" ] && ok || bad "cache-aware streaming text equals offline text"
    expect 0 "hybrid model, CTC" -- "$sori" transcribe --model "$hybrid" --decoder ctc "$wav"
  fi
  # every format sori decodes, in one batch with a bad file among them
  if [ -n "$make_audio" ]; then
    mkdir -p "$tmp/in" "$tmp/out_npy"
    "$make_audio" "$tmp/in" >/dev/null 2>&1 || bad "make_audio_files"
    printf 'not audio' >"$tmp/in/broken.wav"
    expect 1 "features of a batch with a broken file" -- "$sori" features "$tmp"/in/* -o "$tmp/out_npy"
    for f in "$tmp"/in/*; do
      name=$(basename "$f"); name=${name%.*}
      [ "$name" = broken ] && continue
      [ -s "$tmp/out_npy/$name.npy" ] && ok || bad "features of $(basename "$f") missing in the batch"
    done
    grep -q "broken.wav" "$tmp/out" && grep -q "1 of" "$tmp/out" && ok || bad "the batch names the broken file"
    expect 2 "several files need a directory" -- "$sori" features "$tmp/in/flac.flac" "$tmp/in/opus.opus" -o "$tmp/x.npy"
    mkdir -p "$tmp/srt"
    expect 1 "transcribe a directory with a broken file" -- "$sori" transcribe --model "$model" --format srt -o "$tmp/srt" "$tmp/in"
    [ "$(ls "$tmp/srt" | wc -l)" -eq "$(ls "$tmp/in" | grep -vc broken)" ] && ok || bad "transcribe: one .srt per good file"
    grep -q "1 of" "$tmp/out" && ok || bad "transcribe: counts the failed file"
    # damaged files: refused with the file and the place, unless --allow-damaged
    mkdir -p "$tmp/dmg"
    "$make_audio" --damaged "$tmp/dmg" || bad "make_audio_files --damaged"
    for f in damaged.opus cut.flac; do
      expect 1 "transcribe a damaged $f" -- "$sori" transcribe --model "$model" "$tmp/dmg/$f"
      grep -q "$f: damaged at byte [0-9]* ([0-9.]* s): " "$tmp/out" && grep -q -- "--allow-damaged" "$tmp/out" &&
        ok || bad "transcribe $f: names the file, the place, and --allow-damaged"
      expect 0 "transcribe --allow-damaged $f" -- "$sori" transcribe --model "$model" --allow-damaged --format json "$tmp/dmg/$f"
      grep -q "warning: .*$f: damaged at byte [0-9]* ([0-9.]* s): .* lost" "$tmp/out" && ok || bad "transcribe --allow-damaged $f: a warning with the lost span"
      grep -q '"damaged": {"byte_offset": [0-9]*, "lost_from_s": [0-9.]*, "lost_to_s": [0-9.]*, "lost_s": [0-9.]*, "places": [0-9]*, "length_unknown": [a-z]*, "reason": "[^"]' "$tmp/out" &&
        ok || bad "transcribe --allow-damaged $f: the JSON says it was damaged"
    done
    expect 0 "transcribe --allow-damaged --stream" -- "$sori" transcribe --model "$model" --allow-damaged --stream --format json "$tmp/dmg/damaged.opus"
    grep -q '"damaged": {' "$tmp/out" && ok || bad "transcribe --allow-damaged --stream: the JSON says it was damaged"
    expect 0 "transcribe an intact file: no damage field" -- "$sori" transcribe --model "$model" --allow-damaged --format json "$tmp/in/opus.opus"
    grep -q '"damaged"' "$tmp/out" && bad "an intact file marked damaged" || ok
    expect 1 "features of a damaged file" -- "$sori" features "$tmp/dmg/cut.flac" -o "$tmp/x.npy"
    grep -q "cut.flac: damaged at byte" "$tmp/out" && ok || bad "features: names the damage"
    expect 0 "features --allow-damaged" -- "$sori" features --allow-damaged "$tmp/dmg/cut.flac" -o "$tmp/x.npy"
    # every supported input rate works the same offline, streaming and in features
    for r in 8000 44100 192000 384000 768000; do
      "$make_audio" --tone $r 2 "$tmp/r$r.wav" || bad "make_audio_files --tone $r"
      for mode in offline --stream; do
        [ "$mode" = offline ] && m= || m=$mode
        expect 0 "transcribe $mode at $r Hz" -- "$sori" transcribe --model "$model" --format json $m "$tmp/r$r.wav"
        grep -q '"duration_s": 2.000' "$tmp/out" && grep -q '"segments": \[' "$tmp/out" && grep -q '"words": \[' "$tmp/out" &&
          ok || bad "transcribe $mode at $r Hz: JSON with its duration, words and segments"
      done
      expect 0 "features at $r Hz" -- "$sori" features "$tmp/r$r.wav" -o "$tmp/r$r.npy"
      grep -q "'shape': (198, 80)" "$tmp/r$r.npy" && ok || bad "features at $r Hz: 198 frames of 80 bins"
    done
  fi
  # messages
  expect 1 "transcribe an empty standard input" -- sh -c "\"$sori\" transcribe --model \"$model\" - </dev/null"
  grep -q "standard input is empty" "$tmp/out" && ok || bad "says standard input is empty"
  printf 'this is not audio, only a note\n' >"$tmp/junk.mp3"
  expect 1 "transcribe a junk .mp3" -- "$sori" transcribe --model "$model" "$tmp/junk.mp3"
  grep -q "junk.mp3: not an audio file sori can decode: named .mp3, but it starts with the text \"this is not audio" "$tmp/out" &&
    ! grep -q "pipe" "$tmp/out" && ok || bad "junk .mp3: says it is not audio sori can decode"
  expect 1 "features of a junk .mp3" -- "$sori" features "$tmp/junk.mp3" -o "$tmp/x.npy"
  grep -q "junk.mp3: not an audio file" "$tmp/out" && ok || bad "features: junk .mp3 named"
  # no segments of silence in JSON: 2 minutes of it, with the bundled model
  # (whose text for silence is empty; the fixture model's random weights
  # write something everywhere)
  bundled="$(dirname "$0")/../data/ko-fastconformer-ctc.gguf"
  if [ -n "$make_audio" ] && [ -f "$bundled" ]; then
    "$make_audio" --silence 8000 120 "$tmp/silence.wav" || bad "make_audio_files --silence"
    expect 0 "transcribe 2 minutes of silence" -- "$sori" transcribe --model "$bundled" --lm none --format json "$tmp/silence.wav"
    grep -q '"text": "", .*"segments": \[\]' "$tmp/out" && ok || bad "JSON of silence: no empty segments"
  else
    echo "note: the bundled model or make_audio_files is missing: the silence-to-JSON check did not run"
  fi
  # --redact: a phone number read out digit by digit (espeak-ng, tests/fixtures/pii_phone_16k.wav)
  if [ -f "$bundled" ]; then
    pii=$(dirname "$0")/fixtures/pii_phone_16k.wav
    expect 0 "transcribe --redact" -- "$sori" transcribe --model "$bundled" --redact --format json "$pii"
    grep -q '"text": "제 번호는 \[전화번호\]' "$tmp/out" && grep -q '"word": "\[전화번호\]"' "$tmp/out" &&
      grep -q '"redactions": \[{"category": "phone", "start": 1\.[0-9]*, "end": 3\.[0-9]*}\]' "$tmp/out" &&
      ! grep -q '공일공' "$tmp/out" && ok || { bad "transcribe --redact output"; cat "$tmp/out" >&2; }
    expect 0 "transcribe without --redact" -- "$sori" transcribe --model "$bundled" "$pii"
    grep -q '공일공' "$tmp/out" && ok || bad "without --redact the digits are there"
    # --itn: the number in written form, one word over the spoken digits' time; masked after it
    expect 0 "transcribe --itn" -- "$sori" transcribe --model "$bundled" --itn --format json "$pii"
    grep -Eq '"word": "010-?1234-?5678", "start": 1\.280, "end": 3\.360' "$tmp/out" && ! grep -q '공일공' "$tmp/out" &&
      ok || { bad "transcribe --itn output"; cat "$tmp/out" >&2; }
    expect 0 "transcribe --moderate" -- "$sori" transcribe --model "$bundled" --moderate --format json "$pii"
    grep -q '"segments": \[{.*"moderation": {"label": "ok", "score": 0\.[0-9]*}}\].*"moderation": {"label": "ok"' "$tmp/out" &&
      ok || { bad "transcribe --moderate output"; cat "$tmp/out" >&2; }
    expect 1 "transcribe --moderate-model missing" -- "$sori" transcribe --model "$bundled" --moderate-model "$tmp/none.gguf" "$pii"
    grep -q 'none.gguf' "$tmp/out" && ok || bad "transcribe --moderate-model: names the missing file"
    expect 0 "transcribe --itn-options keep-phone" -- "$sori" transcribe --model "$bundled" --itn-options keep-phone "$pii"
    grep -q '공일공' "$tmp/out" && ok || bad "transcribe --itn-options keep-phone keeps the spoken digits"
    expect 2 "transcribe --itn-options bogus" -- "$sori" transcribe --model "$bundled" --itn-options bogus "$pii"
    expect 0 "transcribe --itn --redact" -- "$sori" transcribe --model "$bundled" --itn --redact --format json "$pii"
    grep -q '"word": "\[전화번호\]"' "$tmp/out" && ! grep -q '5678' "$tmp/out" && ok ||
      { bad "transcribe --itn --redact output"; cat "$tmp/out" >&2; }
  fi
  # sori say: a VITS voice (the random test fixture) into WAV, and 8 kHz μ-law for the telephone
  vits=$(dirname "$0")/fixtures/vits/sdp.gguf
  expect 0 "say" -- "$sori" say --voice "$vits" -o "$tmp/say.wav" "t1t2t3" "t4t5"
  [ -s "$tmp/say.wav" ] && [ "$(head -c 4 "$tmp/say.wav")" = RIFF ] && grep -q "at 16000 Hz" "$tmp/out" && ok ||
    bad "say: no WAV at the voice's rate"
  expect 0 "say --format ulaw" -- "$sori" say --voice "$vits" --format ulaw -o "$tmp/say8.wav" "t1t2t3"
  grep -q "at 8000 Hz" "$tmp/out" && ok || bad "say --format ulaw: not 8 kHz"
  expect 0 "say: options after the text" -- "$sori" say --voice "$vits" "t1t2t3" -o "$tmp/after.wav" --format ulaw
  [ -s "$tmp/after.wav" ] && grep -q "at 8000 Hz" "$tmp/out" && ok || bad "say: -o and --format after the text not taken"
  expect 0 "say: -- ends the options" -- "$sori" say --voice "$vits" -o "$tmp/dash.wav" -- "-o" "t1"
  [ -s "$tmp/dash.wav" ] && ok || bad "say --: no WAV"
  expect 2 "say: an option without its value" -- "$sori" say --voice "$vits" "t1" -o
  grep -q "value missing" "$tmp/out" && ok || bad "say: -o at the end, not said to lack its value"
  printf 't1t2\nt3?\n' | "$sori" say --voice "$vits" -o "$tmp/say_stdin.wav" >"$tmp/say.err" 2>&1 &&
    grep -q "1 characters the voice has no symbol for" "$tmp/say.err" && ok || bad "say: lines from standard input"
  kokoro=$(dirname "$0")/../data/kokoro-82m.gguf
  if [ -s "$kokoro" ]; then # without --voice: the bundled Kokoro voice (tools/setup.sh)
    expect 0 "say with the bundled voice" -- "$sori" say -o "$tmp/ko.wav" "안녕하세요. 3시에 만나요."
    grep -q "at 24000 Hz" "$tmp/out" && [ "$(head -c 4 "$tmp/ko.wav")" = RIFF ] && ok ||
      bad "say: the bundled voice, 24 kHz WAV"
    expect 0 "say --speaker by name, ulaw" -- "$sori" say --speaker jm_kumo --format ulaw -o "$tmp/ko8.wav" "네"
    grep -q "at 8000 Hz" "$tmp/out" && ok || bad "say --speaker jm_kumo --format ulaw: not 8 kHz"
    "$sori" say -o - "네" 2>/dev/null | head -c 4 | grep -q RIFF && ok || bad "say -o -: no WAV on standard output"
    expect 1 "say nothing readable" -- "$sori" say -o "$tmp/e.wav" "😀 ☃"
    grep -q "nothing to say" "$tmp/out" && ok || bad "say: emoji alone, a clear error"
    expect 1 "say with a speaker name the voice lacks" -- "$sori" say --speaker nobody -o "$tmp/x.wav" "가"
    grep -q "jf_alpha" "$tmp/out" && ok || bad "say: lists the voice's speakers"
    expect 0 "text ipa" -- "$sori" text ipa "같이 가요." "3시"
    [ "$(head -1 "$tmp/out")" = "kaʨʰi kajo." ] && [ "$(sed -n 2p "$tmp/out")" = "seɕi" ] && ok ||
      { bad "text ipa: normalize, g2p, IPA"; cat "$tmp/out" >&2; }
  else
    expect 2 "say without a voice (none bundled)" -- "$sori" say "x"
  fi
  expect 1 "say with a missing voice" -- "$sori" say --voice "$tmp/none.gguf" "x"
  grep -q "none.gguf" "$tmp/out" && ok || bad "say: names the missing voice"
  expect 1 "say with a speaker the voice lacks" -- "$sori" say --voice "$vits" --speaker 9 -o "$tmp/x.wav" "t1"
  expect 2 "say --format bad" -- "$sori" say --voice "$vits" --format mp9 "t1"
  expect 0 "transcribe json: no segment without text" -- "$sori" transcribe --model "$model" --format json "$wav"
  grep -q '"segments": \[[^]]*"text": ""' "$tmp/out" && bad "a segment with empty text in JSON" || ok
fi

# the program itself links no CUDA library
if command -v ldd >/dev/null; then
  if ldd "$sori" | grep -Eq 'libcuda|libcudart|libcublas|libcudnn|libcufft'; then bad "sori links CUDA"; else ok; fi
fi

# A CUDA module whose libraries are missing (as on a machine without CUDA):
# built against a stub library that is then deleted.
if [ -n "$cc" ] && command -v "$cc" >/dev/null; then
  echo 'int sori_stub_symbol(void) { return 1; }' >"$tmp/stub.c"
  printf 'int sori_stub_symbol(void);\nint sori_cuda_backend_entry(void) { return sori_stub_symbol(); }\n' >"$tmp/mod.c"
  if "$cc" -shared -fPIC -o "$tmp/libsoristub.so" "$tmp/stub.c" &&
     "$cc" -shared -fPIC -o "$tmp/libsori_cuda.so" "$tmp/mod.c" -L"$tmp" -lsoristub; then
    rm -f "$tmp/libsoristub.so"
    SORI_CUDA_MODULE="$tmp/libsori_cuda.so"; export SORI_CUDA_MODULE
    expect 0 "version without CUDA libraries" -- "$sori" --version
    grep -q 'backends: cpu$' "$tmp/out" && grep -q 'not loadable' "$tmp/out" && ok || { bad "no-CUDA version output"; cat "$tmp/out" >&2; }
    expect 1 "cuda without CUDA libraries" -- "$sori" check --device cuda
    grep -q 'not available' "$tmp/out" && ok || bad "no-CUDA error message"
    expect 0 "auto without CUDA libraries" -- "$sori" check --device auto
    SORI_CUDA_MODULE=/nonexistent/libsori_cuda.so
    expect 0 "version without the module" -- "$sori" --version
    unset SORI_CUDA_MODULE
  else
    bad "could not build the stub module"
  fi
fi
echo "cli_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
