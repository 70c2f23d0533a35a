#!/usr/bin/env python3
"""Silero VAD: sori's native implementation against onnxruntime (the runtime
silero-vad itself uses) on the same audio, the same windows and the same
model, one thread each, in one run: median and spread of --runs runs, the
ratio, and the largest difference between the two sides' probabilities.

    pip install onnxruntime==1.32.0 numpy
    python3 bench/bench_silero_vad.py --build build --onnx silero_vad.onnx [--seconds 60] [--runs 5]

onnxruntime is timed as silero-vad's OnnxWrapper calls it: one run per window
with the previous window's context and the LSTM state (its Python call
overhead included, which is how the package is used). sori's driver is
bench_silero_vad (C), which times its window loop alone. Neither side gets a
warm-up run. Before each side's runs the script waits for a quiet machine; a
side during which other processes took over 20 % of the CPUs is flagged BUSY
and the script exits with status 3. Goal: sori >= 1.0x onnxruntime at both
rates.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Guard, add_quiet_args, driver_runs, spread  # noqa: E402


def signal(rate, seconds, window):
    n = int(seconds * rate) // window * window
    i = np.arange(n, dtype=np.int64)
    return (0.3 * ((i * 7919 % 1000) / 1000.0 - 0.5) * ((i // (rate // 4)) % 2)).astype(np.float32)


def run_ort(sess, x, rate, window, context):
    """One pass over x; returns (ms, the speech probability of every window)."""
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(context, np.float32)
    sr = np.array(rate, dtype=np.int64)
    probs = []
    t0 = time.perf_counter()
    for i in range(0, len(x), window):
        inp = np.concatenate([ctx, x[i:i + window]])[None, :]
        out, state = sess.run(None, {"input": inp, "state": state, "sr": sr})
        ctx = inp[0, -context:]
        probs.append(out)
    ms = (time.perf_counter() - t0) * 1e3
    return ms, np.array([float(p.reshape(-1)[0]) for p in probs], dtype=np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--model", default="data/silero-vad.gguf")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=5)
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    print(guard.load_line())
    print(f"{a.seconds:.0f} s of audio, one thread, {a.runs} runs each (onnxruntime {ort.__version__}); "
          "ratio = onnxruntime / sori (medians)", flush=True)
    tmp = tempfile.mkdtemp()
    for rate, window, context in ((16000, 512, 64), (8000, 256, 32)):
        x = signal(rate, a.seconds, window)
        with guard.region(f"onnxruntime {rate} Hz"):
            runs = [run_ort(sess, x, rate, window, context) for _ in range(a.runs)]
        ort_ms = [ms for ms, _ in runs]
        ort_p = runs[0][1]
        probs = os.path.join(tmp, "p.f32")
        with guard.region(f"sori {rate} Hz"):
            res = subprocess.run([f"{a.build}/bin/bench_silero_vad", a.model, str(rate), str(a.seconds), str(a.runs),
                                  probs], check=True, capture_output=True, text=True).stdout
        sori_ms, windows = driver_runs(res), int(res.split()[1])
        sori_p = np.fromfile(probs, dtype=np.float32)
        os.unlink(probs)
        diff = float(np.abs(sori_p - ort_p).max()) if len(sori_p) == len(ort_p) else float("nan")
        om, sm = statistics.median(ort_ms), statistics.median(sori_ms)
        print(f"{rate} Hz, {windows} windows:")
        print(f"  onnxruntime {spread(ort_ms, 1)}")
        print(f"  sori        {spread(sori_ms, 1)}  RTF {sm / 1e3 / a.seconds:.5f}")
        print(f"  ratio {om / sm:.2f}  max |probability diff| {diff:.1e}"
              + ("" if len(sori_p) == len(ort_p) else f"  WARNING: {len(sori_p)} / {len(ort_p)} windows"),
              flush=True)
    os.rmdir(tmp)
    sys.exit(guard.report())


if __name__ == "__main__":
    main()
