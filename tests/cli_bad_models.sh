#!/bin/sh
# sori transcribe with hostile model files (written by test_bad_models
# --write: hyper-parameters set to 0, -2, huge values, values that disagree
# with the tensors, unknown options, wrong types): each must exit 1, not
# crash, with a message naming the model file and the key.
# usage: cli_bad_models.sh SORI TEST_BAD_MODELS
sori=$1 writer=$2
wav=$(dirname "$0")/fixtures/stereo_22k.wav
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
"$writer" --write "$tmp" >/dev/null || { echo "FAILED: cannot write the models"; exit 1; }
pass=0 fail=0
while IFS="$(printf '\t')" read -r file key; do
  "$sori" transcribe --model "$tmp/$file" "$wav" >"$tmp/out" 2>&1
  rc=$?
  if [ "$rc" -eq 1 ] && grep -q "$tmp/$file: .*$key" "$tmp/out"; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAILED: $file ($key): exit $rc"; cat "$tmp/out"
  fi
done <"$tmp/list.tsv"
# the file that once killed sori transcribe with SIGFPE is a valid model
if "$sori" transcribe --model "$tmp/sigfpe_left253.gguf" "$wav" >"$tmp/out" 2>&1; then
  pass=$((pass + 1))
else
  fail=$((fail + 1)); echo "FAILED: sigfpe_left253.gguf: exit $?"; cat "$tmp/out"
fi
[ "$pass" -ge 21 ] || { echo "FAILED: only $pass models checked"; fail=$((fail + 1)); }
echo "cli_bad_models: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
