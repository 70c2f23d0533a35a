#!/usr/bin/env python3
"""Synthetic Korean speech for the bundled model: pronounce, then speak, then degrade.

    # training features (NeMo log-mel, f16 shards), resumable, one process per --worker
    python3 tools/ko/synth.py feats --text DIR/train.tsv --out DIR --shards 0:40 [--per-shard 2000]
    # evaluation audio (WAV files + manifest) with held-out voices
    python3 tools/ko/synth.py audio --text DIR/test.tsv --out DIR --count 300 --channel clean|phone

Every utterance is a pure function of (seed, sentence index): the same command
gives the same data, and shards can be generated in any order or in parallel.

1. Pronounce: the sentence is turned into its standard pronunciation in Hangul
   by sori's own rules (`sori text g2p`, one process; --g2p g2pkk: g2pkk's
   rules with mecab-ko POS tags, the comparison, and what the bundled model
   was trained with), because espeak-ng's own
   Korean letter-to-sound rules miss assimilation (입니다 -> 임니다,
   국물 -> 궁물, 같이 -> 가치). The label stays the spelled sentence.
2. Speak: espeak-ng -v ko+VARIANT with random rate, pitch and word gap.
   Variants in HELD_OUT are never used for training; evaluation uses only them.
3. Degrade (training, random per utterance): speed perturbation 0.9-1.1,
   synthetic room reverberation, coloured noise or babble of other utterances
   at 0-30 dB SNR, gain, and a telephone channel (300-3400 Hz band, 8 kHz,
   G.711 mu-law / A-law or Opus 6-12 kb/s) back to 16 kHz.
4. Features (feats mode): NeMo AudioToMelSpectrogramPreprocessor with the
   model's settings (80 mels, 25/10 ms, no normalization, no dither), stored
   as f16 per shard: feats [frames, 80], lens, texts, meta.
"""
import argparse
import audioop
import io
import json
import os
import random
import subprocess
import sys
import time
import types
import wave

import numpy as np
import soxr

VARIANTS = sorted(os.listdir("/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v")) if os.path.isdir(
    "/usr/lib/x86_64-linux-gnu/espeak-ng-data/voices/!v") else []
HELD_OUT = ["f4", "m3", "klatt3", "Andy", "belinda", "iven2", "edward2", "Mr serious"]
SR = 16000


def train_variants():
    return [v for v in VARIANTS if v not in HELD_OUT]


class SoriPronouncer:
    """sori's own standard pronunciation (`sori text g2p`, one process, a line in, a line out)."""

    def __init__(self, sori):
        self.p = subprocess.Popen([sori, "text", "g2p"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def __call__(self, text):
        self.p.stdin.write(text.replace("\n", " ") + "\n")
        self.p.stdin.flush()
        out = self.p.stdout.readline().rstrip("\n")
        return out or text  # a line it could not read: speak the spelling


class Pronouncer:
    def __init__(self):
        import nltk.corpus
        import nltk.data
        # g2pkk loads the CMU dictionary for English words at import; the text
        # has no Latin letters, so an empty dictionary stands in (no download).
        nltk.data.find = lambda *a, **k: True
        nltk.corpus.cmudict = types.SimpleNamespace(dict=lambda: {})
        from g2pkk import G2p
        self.g2p = G2p()

    def __call__(self, text):
        try:
            return self.g2p(text)
        except Exception:  # a g2p failure must not lose the sentence: speak the spelling
            return text


def speak(text, variant, rate, pitch, gap):
    cmd = ["espeak-ng", "-v", f"ko+{variant}", "-s", str(rate), "-p", str(pitch), "-g", str(gap), "--stdout", text]
    out = subprocess.run(cmd, capture_output=True, check=True).stdout
    with wave.open(io.BytesIO(out)) as w:
        sr = w.getframerate()
        n = w.getnframes()
        raw = w.readframes(n if 0 < n < 1 << 28 else 1 << 28)
    x = np.frombuffer(raw, dtype=np.int16).astype(np.float32) / 32768.0
    return x, sr


def trim(x, thr=1e-3, pad=1600):
    idx = np.flatnonzero(np.abs(x) > thr)
    if idx.size == 0:
        return x
    return x[max(0, idx[0] - pad): idx[-1] + pad]


def reverb(x, rng):
    rt60 = rng.uniform(0.15, 0.7)
    n = int(SR * rt60)
    t = np.arange(n) / SR
    h = rng.standard_normal(n) * np.exp(-6.9 * t / rt60)
    h[: int(SR * rng.uniform(0.0, 0.004))] = 0.0
    h[0] = 1.0 / rng.uniform(0.2, 0.8)  # direct path stronger than the tail
    h /= np.sqrt(np.sum(h ** 2))
    nfft = 1 << int(np.ceil(np.log2(len(x) + n)))
    y = np.fft.irfft(np.fft.rfft(x, nfft) * np.fft.rfft(h, nfft), nfft)[: len(x)]
    return (y * (np.std(x) / (np.std(y) + 1e-9))).astype(np.float32)


def coloured_noise(n, rng):
    kind = rng.choice(["white", "pink", "brown", "hum"])
    w = rng.standard_normal(n).astype(np.float32)
    if kind == "white":
        return w
    f = np.fft.rfftfreq(n, 1 / SR)
    spec = np.fft.rfft(w)
    if kind == "pink":
        spec /= np.sqrt(np.maximum(f, 20.0))
    elif kind == "brown":
        spec /= np.maximum(f, 20.0)
    else:  # mains hum with harmonics plus a little white noise
        t = np.arange(n) / SR
        base = rng.choice([50.0, 60.0])
        return (sum(np.sin(2 * np.pi * base * k * t + rng.uniform(0, 6.3)) / k for k in range(1, 6)) + 0.05 * w).astype(np.float32)
    y = np.fft.irfft(spec, n)
    return (y / (np.std(y) + 1e-9)).astype(np.float32)


def add_noise(x, noise, snr_db):
    ps = np.mean(x ** 2) + 1e-12
    pn = np.mean(noise ** 2) + 1e-12
    return (x + noise * np.sqrt(ps / (pn * 10 ** (snr_db / 10)))).astype(np.float32)


def bandpass(x, sr, lo, hi):
    n = len(x)
    spec = np.fft.rfft(x)
    f = np.fft.rfftfreq(n, 1 / sr)
    g = np.clip((f - lo * 0.7) / (lo * 0.3), 0, 1) * np.clip((hi * 1.08 - f) / (hi * 0.08), 0, 1)
    return np.fft.irfft(spec * g, n).astype(np.float32)


def telephone(x, rng):
    y = soxr.resample(x, SR, 8000)
    y = bandpass(y, 8000, rng.uniform(200, 350), rng.uniform(3200, 3500))
    pcm = (np.clip(y, -1, 1) * 32767).astype(np.int16).tobytes()
    codec = rng.choice(["ulaw", "alaw", "opus"], p=[0.4, 0.3, 0.3])
    if codec == "ulaw":
        pcm = audioop.ulaw2lin(audioop.lin2ulaw(pcm, 2), 2)
    elif codec == "alaw":
        pcm = audioop.alaw2lin(audioop.lin2alaw(pcm, 2), 2)
    else:
        import opuslib
        enc = opuslib.Encoder(8000, 1, opuslib.APPLICATION_VOIP)
        enc.bitrate = int(rng.choice([6000, 8000, 12000]))
        dec = opuslib.Decoder(8000, 1)
        frame = 160
        n = len(pcm) // 2
        pad = (-n) % frame
        pcm += b"\0\0" * pad
        out = bytearray()
        for i in range(0, len(pcm), frame * 2):
            out += dec.decode(enc.encode(pcm[i:i + frame * 2], frame), frame)
        pcm = bytes(out[: n * 2])
    y = np.frombuffer(pcm, dtype=np.int16).astype(np.float32) / 32768.0
    return soxr.resample(y, 8000, SR).astype(np.float32), codec


class Utterances:
    def __init__(self, rows, seed, variants, g2p="sori", sori=None):
        self.rows = rows
        self.seed = seed
        self.variants = variants
        self.pron = SoriPronouncer(sori) if g2p == "sori" else Pronouncer()
        self.babble = []

    def clean(self, i):
        rng = np.random.default_rng([self.seed, i])
        text = self.rows[i]
        variant = self.variants[int(rng.integers(len(self.variants)))]
        rate = int(rng.integers(125, 206))
        pitch = int(rng.integers(20, 81))
        gap = int(rng.choice([0, 0, 0, 1, 2, 4]))
        x, sr = speak(self.pron(text), variant, rate, pitch, gap)
        x = trim(x)
        meta = {"i": i, "voice": variant, "rate": rate, "pitch": pitch}
        return rng, x, sr, meta

    def degraded(self, i, p_phone=0.35):
        rng, x, sr, meta = self.clean(i)
        speed = float(rng.uniform(0.9, 1.1)) if rng.random() < 0.6 else 1.0
        x = soxr.resample(x, sr, SR / speed).astype(np.float32)
        lead = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
        tail = np.zeros(int(rng.uniform(0.05, 0.5) * SR), np.float32)
        x = np.concatenate([lead, x, tail])
        meta["speed"] = round(speed, 3)
        if len(self.babble) < 64:
            self.babble.append(x.copy())
        else:
            self.babble[int(rng.integers(64))] = x.copy()
        if rng.random() < 0.3:
            x = reverb(x, rng)
            meta["reverb"] = 1
        r = rng.random()
        if r < 0.55:
            if r < 0.15 and len(self.babble) >= 4:
                noise = np.zeros_like(x)
                for _ in range(int(rng.integers(2, 6))):
                    b = self.babble[int(rng.integers(len(self.babble)))]
                    off = int(rng.integers(0, max(1, len(b) - 1)))
                    seg = np.resize(np.roll(b, -off), len(x))
                    noise += seg / (np.std(seg) + 1e-9)
                kind = "babble"
            else:
                noise = coloured_noise(len(x), rng)
                kind = "noise"
            snr = float(rng.uniform(0, 30))
            x = add_noise(x, noise, snr)
            meta[kind] = round(snr, 1)
        gain = 10 ** (rng.uniform(-20, 4) / 20) * 0.5 / (np.max(np.abs(x)) + 1e-9)
        x = np.clip(x * gain, -1, 1).astype(np.float32)
        if rng.random() < p_phone:
            x, codec = telephone(x, rng)
            meta["phone"] = codec
        return x, meta


def preprocessor():
    import torch
    from nemo.collections.asr.modules import AudioToMelSpectrogramPreprocessor
    torch.set_num_threads(1)
    pre = AudioToMelSpectrogramPreprocessor(**PREPROCESSOR)
    pre.eval()
    return pre


PREPROCESSOR = dict(sample_rate=SR, normalize="NA", window_size=0.025, window_stride=0.01, window="hann",
                    features=80, n_fft=512, log=True, frame_splicing=1, dither=0.0, pad_to=0, pad_value=0.0)


def read_rows(path):
    with open(path, encoding="utf-8") as f:
        return [l.rstrip("\n").split("\t")[2] for l in f if l.strip()]


def cmd_feats(a):
    import torch
    rows = read_rows(a.text)
    lo, hi = (int(v) for v in a.shards.split(":"))
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "preprocessor.json"), "w") as f:
        json.dump(PREPROCESSOR, f, indent=1)
    utt = Utterances(rows, a.seed, train_variants(), a.g2p, a.sori)
    pre = preprocessor()
    for s in range(lo, hi):
        path = os.path.join(a.out, f"shard_{s:05d}.npz")
        if os.path.exists(path):
            continue
        t0 = time.time()
        feats, lens, texts, metas = [], [], [], []
        secs = 0.0
        for k in range(a.per_shard):
            i = (s * a.per_shard + k) % len(rows)
            x, meta = utt.degraded(i)
            secs += len(x) / SR
            with torch.no_grad():
                f, n = pre(input_signal=torch.from_numpy(x)[None], length=torch.tensor([len(x)]))
            n = int(n[0])
            feats.append(f[0, :, :n].T.numpy().astype(np.float16))
            lens.append(n)
            texts.append(rows[i])
            metas.append(json.dumps(meta))
        tmp = path + ".tmp.npz"
        np.savez(tmp, feats=np.concatenate(feats), lens=np.array(lens, np.int32), texts=np.array(texts),
                 meta=np.array(metas))
        os.replace(tmp, path)
        print(f"{path}: {a.per_shard} utterances, {secs / 3600:.2f} h audio, {time.time() - t0:.0f} s", flush=True)


def write_wav(path, x, sr, law=None):
    import soundfile as sf
    if law is None:
        sf.write(path, x, sr, subtype="PCM_16")
    else:
        sf.write(path, x, sr, subtype="ULAW" if law == "ulaw" else "ALAW")


def cmd_audio(a):
    rows = read_rows(a.text)
    os.makedirs(a.out, exist_ok=True)
    utt = Utterances(rows, a.seed + 7, HELD_OUT, a.g2p, a.sori)
    n = min(a.count, len(rows))
    with open(os.path.join(a.out, "manifest.tsv"), "w", encoding="utf-8") as man:
        for i in range(n):
            rng, x, sr, meta = utt.clean(i)
            x = soxr.resample(x, sr, SR).astype(np.float32)
            x = np.concatenate([np.zeros(3200, np.float32), x, np.zeros(3200, np.float32)])
            x *= 0.5 / (np.max(np.abs(x)) + 1e-9)
            name = f"{i:05d}.wav"
            if a.channel == "phone":
                y = soxr.resample(x, SR, 8000)
                y = bandpass(y, 8000, 300, 3400)
                write_wav(os.path.join(a.out, name), y, 8000, "ulaw")
            else:
                write_wav(os.path.join(a.out, name), x, SR)
            man.write(f"{name}\t{rows[i]}\t{json.dumps(meta, ensure_ascii=False)}\n")
    print(f"{a.out}: {n} files ({a.channel})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    f = sub.add_parser("feats")
    f.add_argument("--text", required=True)
    f.add_argument("--out", required=True)
    f.add_argument("--shards", default="0:1")
    f.add_argument("--per-shard", type=int, default=2000)
    f.add_argument("--seed", type=int, default=1)
    w = sub.add_parser("audio")
    w.add_argument("--text", required=True)
    w.add_argument("--out", required=True)
    w.add_argument("--count", type=int, default=300)
    w.add_argument("--channel", choices=["clean", "phone"], default="clean")
    w.add_argument("--seed", type=int, default=1)
    for q in (f, w):
        q.add_argument("--g2p", choices=["g2pkk", "sori"], default="sori",
                       help="the pronounce step: sori's own `sori text g2p` (the default: as accurate as g2pkk on "
                            "wikipron's lexicon, hundreds of times faster; docs/text.md) or g2pkk (mecab-ko "
                            "morphology: the comparison, and what the bundled model was trained with)")
        q.add_argument("--sori", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                                                      "build", "bin", "sori"))
    a = ap.parse_args()
    if not VARIANTS:
        sys.exit("synth.py: espeak-ng voice variants not found (apt-get install espeak-ng)")
    cmd_feats(a) if a.cmd == "feats" else cmd_audio(a)


if __name__ == "__main__":
    main()
