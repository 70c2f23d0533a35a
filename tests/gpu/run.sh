#!/usr/bin/env bash
# One-shot GPU check. On a machine with an NVIDIA GPU, nvcc and CMake (no
# other development packages needed: without OpenBLAS the CPU side uses the
# builtin sgemm), this configures a GPU-test build, runs the `gpu` tests
# (CUDA vs the double-precision reference, TF32 off and on), `sori check` on
# the GPU and the kernel benchmarks, then prints a summary table. About
# 2-4 minutes, mostly compilation.
#   bash tests/gpu/run.sh [BUILD_DIR]      (default build-gpu)
# Exit status: 0 when every check passed, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build-gpu}
log=$build/gpu-check.log
mkdir -p "$build"
: >"$log"
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
start=$(date +%s)
declare -a names results
record() { names+=("$1"); results+=("$2"); }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | tee -a "$log"
# the GPU's own architecture (e.g. 9.0 -> 90), unless SORI_CUDA_ARCHS is set
archs=${SORI_CUDA_ARCHS:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '. ')}
archs=${archs:-native}
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)
targets="sori_cli sori_cuda test_gpu_parity bench_ops"
if cmake -S . -B "$build" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DSORI_CUDA=ON \
     -DSORI_AUDIO_IO="$(pkg-config --exists sndfile soxr kissfft-float opus 2>/dev/null && echo ON || echo OFF)" \
     -DSORI_CUDA_ARCHS="$archs" -DCMAKE_CUDA_ARCHITECTURES="$archs" >>"$log" 2>&1 &&
   { cmake --build "$build" --target help 2>/dev/null | grep -q test_gpu_features &&
     targets="$targets test_gpu_features test_stream test_whisper test_asr_threads"; true; } &&
   cmake --build "$build" -j"$(nproc)" --target $targets >>"$log" 2>&1; then
  record "configure + build" "ok ($(( $(date +%s) - start )) s)"
else
  record "configure + build" "FAILED (see $log)"
  tail -30 "$log"
fi

run() { # run NAME COMMAND...
  local name=$1; shift
  echo "== $name" >>"$log"
  "$@" >>"$log" 2>&1
  case $? in
    0) record "$name" "ok" ;;
    77) record "$name" "SKIPPED: no usable GPU (see $log)" ;;
    *) record "$name" "FAILED (see $log)" ;;
  esac
}
if [ -x "$build/bin/test_gpu_parity" ]; then
  run "sori --version" "$build/bin/sori" --version
  run "sori check --device cuda" "$build/bin/sori" check --device cuda
  run "gpu parity (fp32, TF32 off)" "$build/bin/test_gpu_parity"
  SORI_CUDA_TF32=1 run "gpu parity (TF32 on)" "$build/bin/test_gpu_parity"
  [ -x "$build/bin/test_gpu_features" ] && run "gpu features vs CPU" "$build/bin/test_gpu_features"
  [ -x "$build/bin/test_stream" ] &&
    SORI_TEST_DEVICE=cuda run "streaming + RNN-T parity on cuda (fp32)" "$build/bin/test_stream"
  [ -x "$build/bin/test_whisper" ] &&
    SORI_TEST_DEVICE=cuda run "whisper parity + long files on cuda" "$build/bin/test_whisper"
  [ -x "$build/bin/test_whisper" ] &&
    SORI_TEST_DEVICE=cuda run "whisper sessions memory on cuda" "$build/bin/test_whisper" --memory
  [ -x "$build/bin/test_asr_threads" ] &&
    SORI_TEST_DEVICE=cuda run "4 threads, one model, on cuda" "$build/bin/test_asr_threads"
  # Whisper base on the bundled real clips, when setup.sh's model is here:
  # the GPU's transcripts against the CPU's, and both timings
  wb=data/whisper-base-f16.gguf
  if [ -s "$wb" ] && [ -d data/samples/real ]; then
    for dev in cuda cpu; do
      t0=$(date +%s.%N)
      "$build/bin/sori" transcribe --model "$wb" --device $dev --format tsv data/samples/real \
        >"$build/whisper_$dev.tsv" 2>>"$log"
      echo "whisper base, 10 real clips, $dev: $(echo "$(date +%s.%N) - $t0" | bc) s" >>"$log"
    done
    if cmp -s "$build/whisper_cuda.tsv" "$build/whisper_cpu.tsv"; then
      record "whisper base cuda == cpu" "ok"
    else
      record "whisper base cuda == cpu" "FAILED (transcripts differ: $build/whisper_*.tsv)"
    fi
  fi
  run "kernel benchmarks (cuda)" "$build/bin/bench_ops" --device cuda --runs 10
fi

echo
echo "---- log: $log ----"
grep -E "^(sori |backends|gpu [0-9]|test_gpu_parity:|test_gpu_features:|test_stream:|test_whisper|test_asr_threads:|whisper base|SKIP|.*FAILED|.*GFLOP/s|.*hours of audio|matmul 1024)" "$log" | head -80
echo
printf '%-34s %s\n' "check" "result"
printf '%-34s %s\n' "-----" "------"
fail=0
for i in "${!names[@]}"; do
  printf '%-34s %s\n' "${names[$i]}" "${results[$i]}"
  case "${results[$i]}" in ok*) ;; *) fail=1 ;; esac
done
echo "total time: $(( $(date +%s) - start )) s"
exit $fail
