#!/usr/bin/env python3
"""Reference log-mel features for tests/test_features.c.

Kaldi fbank from kaldi-native-fbank, NeMo features from NeMo's own
AudioToMelSpectrogramPreprocessor (when nemo_toolkit is installed), on one
deterministic test signal. Pinned versions: tools/requirements-reference.txt.

Writes to tests/fixtures/features/:
  signal.f32      the input, float32 little-endian, in [-1, 1]
  NAME.f32        frames x dim float32 for each configuration
  manifest.tsv    name, kind, frames, dim, then key=value parameters in
                  sori_feature_params' names (the C test applies them)

    python3 tools/gen_feature_fixtures.py [--kaldi-only]
"""
import os
import sys

import numpy as np

OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "features")


def test_signal(n=12347, rate=16000, seed=1234):
    """A chirp, two tones and noise, with a silent gap: odd length on purpose."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / rate
    x = 0.3 * np.sin(2 * np.pi * (200 + 1500 * t) * t)
    x += 0.1 * np.sin(2 * np.pi * 3000 * t) + 0.05 * np.sin(2 * np.pi * 60 * t)
    x += 0.02 * rng.standard_normal(n)
    x[4000:5000] *= 0.001
    return x.astype(np.float32)


KALDI = [
    # name, sori params (also mapped onto knf options below)
    ("kaldi_default", dict()),
    ("kaldi_80_nosnip", dict(n_mels=80, snip_edges=0, window="HAMMING", remove_dc=0, preemph=0.0,
                             use_energy=1, raw_energy=0)),
    ("kaldi_8k", dict(sample_rate_hz=8000, n_mels=40, high_freq_hz=-200.0, window="HANN",
                      round_to_pow2=0, use_power=0, use_energy=1, htk_compat=1, energy_floor=1.0)),
    ("kaldi_rect_blackman", dict(n_mels=30, window="RECTANGULAR", low_freq_hz=100.0,
                                 high_freq_hz=7000.0, frame_length_ms=20.0, frame_shift_ms=5.0)),
    ("kaldi_blackman_nosnip", dict(n_mels=64, window="BLACKMAN", snip_edges=0)),
]


def knf_fbank(x, p):
    import kaldi_native_fbank as knf
    o = knf.FbankOptions()
    fo, mo = o.frame_opts, o.mel_opts
    fo.dither = 0.0
    fo.samp_freq = p.get("sample_rate_hz", 16000)
    fo.snip_edges = bool(p.get("snip_edges", 1))
    fo.window_type = {"POVEY": "povey", "HANN": "hanning", "HAMMING": "hamming",
                      "RECTANGULAR": "rectangular", "BLACKMAN": "blackman"}[p.get("window", "POVEY")]
    fo.remove_dc_offset = bool(p.get("remove_dc", 1))
    fo.preemph_coeff = p.get("preemph", 0.97)
    fo.round_to_power_of_two = bool(p.get("round_to_pow2", 1))
    fo.frame_length_ms = p.get("frame_length_ms", 25.0)
    fo.frame_shift_ms = p.get("frame_shift_ms", 10.0)
    mo.num_bins = p.get("n_mels", 23)
    mo.low_freq = p.get("low_freq_hz", 20.0)
    mo.high_freq = p.get("high_freq_hz", 0.0)
    o.use_energy = bool(p.get("use_energy", 0))
    o.raw_energy = bool(p.get("raw_energy", 1))
    o.energy_floor = p.get("energy_floor", 0.0)
    o.htk_compat = bool(p.get("htk_compat", 0))
    o.use_power = bool(p.get("use_power", 1))
    fb = knf.OnlineFbank(o)
    fb.accept_waveform(fo.samp_freq, (x * 32768.0).tolist())
    fb.input_finished()
    return np.array([fb.get_frame(i) for i in range(fb.num_frames_ready)], dtype=np.float32)


NEMO = [
    ("nemo_default", dict(n_mels=80, normalize="PER_FEATURE")),
    ("nemo_none_pad16", dict(n_mels=64, normalize="NONE", pad_to=16)),
    ("nemo_allfeat_hamming", dict(n_mels=80, normalize="ALL_FEATURES", window="HAMMING",
                                  low_freq_hz=60.0, high_freq_hz=7600.0)),
    ("nemo_fixed", dict(n_mels=80, normalize="FIXED")),
    ("nemo_8k", dict(sample_rate_hz=8000, n_mels=40, n_fft=256, win_length=200, hop_length=80,
                     normalize="NONE")),
]


def fixed_norm(n):
    """The FIXED configuration's per-bin mean and std (tests/test_features.c uses the same formula)."""
    return [-9.0 + 0.03 * i for i in range(n)], [2.5 + 0.02 * i for i in range(n)]


def nemo_features(x, p):
    import torch
    from nemo.collections.asr.modules import AudioToMelSpectrogramPreprocessor
    rate = p.get("sample_rate_hz", 16000)
    win = p.get("win_length", 400)
    hop = p.get("hop_length", 160)
    norm = {"PER_FEATURE": "per_feature", "ALL_FEATURES": "all_features", "NONE": "None",
            "FIXED": {"fixed_mean": fixed_norm(p["n_mels"])[0], "fixed_std": fixed_norm(p["n_mels"])[1]}}[p["normalize"]]
    pre = AudioToMelSpectrogramPreprocessor(
        sample_rate=rate, window_size=win / rate, window_stride=hop / rate,
        n_fft=p.get("n_fft", 512), features=p["n_mels"], dither=0.0,
        normalize=norm, window={"HANN": "hann", "HAMMING": "hamming"}[p.get("window", "HANN")],
        lowfreq=p.get("low_freq_hz", 0.0), highfreq=p.get("high_freq_hz") or None,
        pad_to=p.get("pad_to", 0), preemph=0.97, log=True, mag_power=2.0)
    pre.eval()
    with torch.no_grad():
        sig = torch.from_numpy(x).unsqueeze(0)
        feats, lens = pre(input_signal=sig, length=torch.tensor([len(x)]))
    return feats[0].numpy().T.astype(np.float32)  # frames x mels


def main():
    os.makedirs(OUT, exist_ok=True)
    x = test_signal()
    x.tofile(os.path.join(OUT, "signal.f32"))
    rows = []
    for name, p in KALDI:
        f = knf_fbank(x, p)
        f.tofile(os.path.join(OUT, name + ".f32"))
        rows.append((name, "KALDI", f.shape[0], f.shape[1], p))
    if "--kaldi-only" not in sys.argv:
        for name, p in NEMO:
            f = nemo_features(x, p)
            f.tofile(os.path.join(OUT, name + ".f32"))
            rows.append((name, "NEMO", f.shape[0], f.shape[1], p))
    with open(os.path.join(OUT, "manifest.tsv"), "w") as m:
        for name, kind, frames, dim, p in rows:
            kv = " ".join(f"{k}={v}" for k, v in p.items())
            m.write(f"{name}\t{kind}\t{frames}\t{dim}\t{kv}\n")
    print(f"wrote {len(rows)} configurations to {OUT}")


if __name__ == "__main__":
    main()
