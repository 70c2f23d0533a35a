#!/usr/bin/env python3
"""Silero VAD: sori's native implementation against onnxruntime (the runtime
silero-vad itself uses) on the same audio, the same windows and the same
model, one thread each, in one run: medians of --runs runs, and the ratio.

    pip install onnxruntime==1.32.0 numpy
    python3 bench/bench_silero_vad.py --build build --onnx silero_vad.onnx [--seconds 60] [--runs 5]

onnxruntime is timed as silero-vad's OnnxWrapper calls it: one run per window
with the previous window's context and the LSTM state (its Python call
overhead included, which is how the package is used). sori's driver is
bench_silero_vad (C). Goal: sori >= 1.0x onnxruntime at both rates.
"""
import argparse
import statistics
import subprocess
import time

import numpy as np
import onnxruntime as ort


def signal(rate, seconds, window):
    n = int(seconds * rate) // window * window
    i = np.arange(n, dtype=np.int64)
    return (0.3 * ((i * 7919 % 1000) / 1000.0 - 0.5) * ((i // (rate // 4)) % 2)).astype(np.float32)


def run_ort(sess, x, rate, window, context):
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(context, np.float32)
    sr = np.array(rate, dtype=np.int64)
    t0 = time.perf_counter()
    for i in range(0, len(x), window):
        inp = np.concatenate([ctx, x[i:i + window]])[None, :]
        out, state = sess.run(None, {"input": inp, "state": state, "sr": sr})
        ctx = inp[0, -context:]
    return (time.perf_counter() - t0) * 1e3


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--model", default="data/silero-vad.gguf")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    print(f"{a.seconds:.0f} s of audio, one thread, median of {a.runs} runs (onnxruntime {ort.__version__})")
    print(f"{'rate':>6} {'windows':>8} {'onnxruntime ms':>15} {'sori ms':>9} {'ratio':>6} {'sori RTF':>9}")
    for rate, window, context in ((16000, 512, 64), (8000, 256, 32)):
        x = signal(rate, a.seconds, window)
        ort_ms = statistics.median(run_ort(sess, x, rate, window, context) for _ in range(a.runs))
        out = subprocess.run([f"{a.build}/bin/bench_silero_vad", a.model, str(rate), str(a.seconds), str(a.runs)],
                             check=True, capture_output=True, text=True).stdout.split()
        sori_ms, windows = float(out[0]), int(out[1])
        print(f"{rate:>6} {windows:>8} {ort_ms:>15.1f} {sori_ms:>9.1f} {ort_ms / sori_ms:>6.2f} "
              f"{sori_ms / 1e3 / a.seconds:>9.5f}")


if __name__ == "__main__":
    main()
