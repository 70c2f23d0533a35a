#!/usr/bin/env bash
# A long fuzzing run of one target, in chunks: libFuzzer keeps every corpus
# input in memory and fuzz_model's inputs are ~1 MB models, so after each
# chunk the corpus is merged down to the inputs that add coverage and the
# next chunk goes on from there. Stops at the first crash (its input is
# left in ARTIFACTS) or when TOTAL seconds are spent. Every chunk's last
# lines (libFuzzer's coverage, the harness's counters) go to LOG.
#   tests/fuzz/run_long.sh BUILD_DIR TARGET TOTAL_S [CHUNK_S] [WORK_DIR]
# e.g. tests/fuzz/run_long.sh build-fuzz fuzz_model 14400 900 /tmp/fuzz
set -uo pipefail
build=$1 target=$2 total=$3 chunk=${4:-900} work=${5:-/tmp/sori-fuzz-$2}
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$work/corpus" "$work/artifacts"
log="$work/log"
if [ -z "$(ls -A "$work/corpus")" ]; then
  case $target in
    fuzz_model) cp "$root"/tests/fixtures/conformer/*.gguf "$root"/tests/fixtures/stream/*.gguf "$work/corpus/" ;;
    fuzz_lm) cp "$root"/tests/fixtures/lm/*.gguf "$work/corpus/" ;;
    fuzz_ngram) cp "$root"/tests/fixtures/ngram/small.* "$root"/tests/fixtures/ngram/small_ws.gguf "$work/corpus/" ;;
    *) cp "$root"/tests/fixtures/*.gguf "$work/corpus/" ;;
  esac
fi
export LSAN_OPTIONS=suppressions=$root/tests/fuzz/lsan.supp
start=$(date +%s) runs=0 i=0
while :; do
  left=$(( total - ($(date +%s) - start) ))
  [ "$left" -le 30 ] && break
  t=$(( left < chunk ? left : chunk ))
  i=$((i + 1))
  "$build/bin/$target" -max_len=2000000 -max_total_time="$t" -print_final_stats=1 -rss_limit_mb=8192 \
    -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/chunk.log" 2>&1
  rc=$?
  { echo "== chunk $i ($t s, exit $rc) at $(date -u +%H:%M:%S)"
    grep -E "^(#[0-9]+[[:space:]]+DONE|Done|stat::|$target:)" "$work/chunk.log" | tail -12; } >>"$log"
  n=$(grep -o '^Done [0-9]*' "$work/chunk.log" | awk '{print $2}')
  runs=$(( runs + ${n:-0} ))
  if [ "$rc" -ne 0 ]; then
    echo "== FAILED: see $work/chunk.log and $work/artifacts" >>"$log"
    tail -40 "$work/chunk.log" >>"$log"
    exit 1
  fi
  rm -rf "$work/merged" && mkdir -p "$work/merged"
  "$build/bin/$target" -merge=1 -max_len=2000000 "$work/merged" "$work/corpus" >/dev/null 2>&1 &&
    rm -rf "$work/corpus" && mv "$work/merged" "$work/corpus"
  echo "   corpus after merge: $(ls "$work/corpus" | wc -l) inputs, total runs $runs" >>"$log"
done
echo "== done: $runs runs in $(( $(date +%s) - start )) s, no crash" >>"$log"
