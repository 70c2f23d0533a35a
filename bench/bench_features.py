#!/usr/bin/env python3
"""Kaldi fbank speed: sori vs kaldi-native-fbank on the same 10 minutes of
16 kHz audio, one thread each, in one run; median and spread of several runs
and the ratio. Also checks that both computed the same features.

The same work is timed on both sides: sori's driver times the computation on
float32 samples in memory; kaldi-native-fbank's binding first converts the
Python list of samples to a C++ vector inside accept_waveform, so that
conversion is timed alone in the same run (the same call at a rate the
options reject: the binding converts, then the C++ refuses at once) and
subtracted, run by run. Before each side's runs the script waits for a quiet
machine; a side during which other processes took over 20 % of the CPUs is
flagged BUSY and the script exits with status 3.

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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Guard, add_quiet_args, driver_runs, spread  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--mels", type=int, default=80)
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
    import kaldi_native_fbank as knf

    rate = 16000
    n = int(a.minutes * 60 * rate)
    rng = np.random.default_rng(0)
    t = np.arange(n) / rate
    x = (0.2 * np.sin(2 * np.pi * 300 * t) + 0.05 * rng.standard_normal(n)).astype(np.float32)
    tmpdir = tempfile.mkdtemp()
    sig, feats = os.path.join(tmpdir, "x.f32"), os.path.join(tmpdir, "feats.f32")
    x.tofile(sig)

    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    with guard.region("sori"):
        res = subprocess.run([os.path.join(a.build, "bin", "bench_features"), sig, str(a.runs), str(a.mels), feats],
                             check=True, capture_output=True, text=True, env=env).stdout
    sori_times, sori_frames = driver_runs(res), int(res.split()[1])
    sori_f = np.fromfile(feats, dtype=np.float32).reshape(sori_frames, a.mels)
    os.unlink(sig)
    os.unlink(feats)
    os.rmdir(tmpdir)

    o = knf.FbankOptions()
    o.frame_opts.dither = 0.0
    o.mel_opts.num_bins = a.mels
    wave = (x * 32768.0).tolist()
    # Timed: knf's computation (accept_waveform computes every frame, in
    # C++), less its binding's conversion of the list, timed alone right
    # before. Not timed: building the Python list and reading frames back.
    times, conv = [], []
    with guard.region("kaldi-native-fbank"):
        for r in range(a.runs + 1):
            fb = knf.OnlineFbank(o)
            t0 = time.perf_counter()
            try:
                fb.accept_waveform(rate + 1, wave)  # converted, then refused: the conversion alone
                sys.exit("kaldi-native-fbank accepted a rate its options do not have: cannot time its "
                         "conversion alone")
            except (ValueError, RuntimeError):
                pass
            dc = time.perf_counter() - t0
            t0 = time.perf_counter()
            fb.accept_waveform(rate, wave)
            fb.input_finished()
            dt = time.perf_counter() - t0
            if r > 0:
                times.append(dt - dc)
                conv.append(dc)
    frames = fb.num_frames_ready
    knf_f = np.array([fb.get_frame(i) for i in range(frames)], dtype=np.float32).reshape(frames, a.mels)
    sori_s, knf_s = statistics.median(sori_times), statistics.median(times)
    print(guard.load_line())
    print(f"Kaldi fbank, {a.minutes:g} min of 16 kHz audio, {a.mels} bins, one thread, {a.runs} runs after a warm-up; "
          "features computed from samples in memory on both sides:")
    print(f"  sori               {spread(sori_times, 1, 's', '.3f')}  ({sori_frames} frames, "
          f"{a.minutes * 60 / sori_s:7.0f}x real time)")
    print(f"  kaldi-native-fbank {spread(times, 1, 's', '.3f')}  ({frames} frames, "
          f"{a.minutes * 60 / knf_s:7.0f}x real time)")
    print(f"    (its binding's list -> vector conversion subtracted: {spread(conv, 1, 's', '.3f')})")
    print(f"  ratio (knf / sori) {knf_s / sori_s:8.2f}  (goal >= 3)")
    if frames != sori_frames:
        print(f"  WARNING: frame counts differ ({sori_frames} / {frames})")
    else:
        print(f"  max |feature diff| {float(np.abs(sori_f - knf_f).max()):.1e}")
    sys.exit(guard.report())


if __name__ == "__main__":
    main()
