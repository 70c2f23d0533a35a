#!/usr/bin/env python3
"""Accuracy and robustness of sori's Whisper against openai-whisper, same weights, same options.

    python3 bench/eval_whisper.py [--model data/whisper-base-f16.gguf [--model /tmp/whisper-base-q8_0.gguf]]
                                  [--beam 5] [--count N] [--sources pansori,emotiontts]
                                  [--work /tmp/eval_whisper] [--out FILE] [--threads N] [--torch-threads N]

Implementations: sori (build/bin/sori transcribe, once per --model) and
openai-whisper (the reference, in this process) on the weights of --ref-model
(default: the first --model) loaded by tools/gen_whisper_fixtures.py's
load_gguf_into_openai (f16 / Q8_0 upcast to f32). Both decode language ko,
task transcribe, timestamp tokens on, previous text as prompt, temperature
fallback 0.0, 0.2 .. 1.0 with best_of 5 (compression ratio > 2.4, avg logprob
< -1.0, no-speech 0.6): openai-whisper's command-line defaults, which are
sori's. Decodings: greedy, and beam N as well with --beam N (--no-greedy: the
beam only). Fallback sampling draws from each implementation's own generator
(torch seeded with 0 per clip), so clips that fall back may differ by chance.

Sets:
  dev    ../shared/data/speech_dev (manifest.tsv + audio/; --data): the
         first --count clips of the --sources picked (comma-separated
         substrings of the source column; default all).
  noise  100 non-speech clips, deterministic (seed NOISE_SEED), 1-20 s, 16 kHz
         PCM16 WAV in WORK/noise: 20 digital silence, 20 white noise at -60..-20
         dBFS (RMS re full scale), 20 pink/brown noise, 20 mains hum (50/60 Hz
         and harmonics, low noise), 20 mixes (clicks, DTMF-like tones, comfort
         noise made at 8 kHz and resampled to 16 kHz). --no-noise skips them,
         --no-openai-noise runs them through sori only.

Measures, per implementation and decoding:
  CER against the reference transcripts (edits / reference length, summed over
  clips), overall and per source, two ways: "nospace" (NFC, Latin lower-cased,
  only Hangul, digits and Latin letters kept) and "space" (the same, with
  whitespace kept as single spaces); the CER of sori's transcripts against
  openai-whisper's (same decoding) and the clips whose texts are identical
  (raw after strip, and after the nospace normalization); loops: transcripts
  in which a substring of >= 2 characters repeats >= 4 times back to back, or
  whose gzip compression ratio (openai-whisper's: len(utf-8) / len(zlib)) is
  above 2.4 (the reference transcripts are counted too, as a baseline);
  noise: transcripts not empty once whitespace and punctuation are removed,
  listed; speed (not a benchmark): wall time over each set (sori: whole
  processes of --files-per-run files, model load included, shared out by
  duration; openai-whisper: transcribe() per clip, model load excluded),
  real-time factor, and the 1-minute load average while it ran.

Transcripts are cached in WORK/cache (one JSONL per implementation: sori's
binary sha256 or openai-whisper's and torch's versions, the model's sha256,
the options, the set), so a rerun only computes the clips missing. Prints a
table; writes every number, the options, versions and clip counts to --out
(default WORK/results.json). Transcripts of the dev set stay in WORK only.
"""
import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
import unicodedata
import zlib

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
SR = 16000
TEMPERATURES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)
BEST_OF = 5
NOISE_SEED = 20250625
NOISE_VERSION = 1


def die(msg):
    sys.exit(f"eval_whisper: {msg}")


# ------------------------------------------------------------------ text measures

def _keep(c):
    if "\uac00" <= c <= "\ud7a3" or "\u1100" <= c <= "\u11ff" or "\u3130" <= c <= "\u318f":
        return True  # Hangul syllables and jamo
    if c.isdigit() and c.isascii():
        return True
    return c.isalpha() and "LATIN" in unicodedata.name(c, "")


def normalize(text, spaces):
    """NFC, Latin lower-cased, only Hangul, digits and Latin letters (and, with
    spaces, whitespace collapsed to single spaces); anything else is removed."""
    t = unicodedata.normalize("NFC", text).lower()
    if not spaces:
        return "".join(c for c in t if _keep(c))
    t = "".join(c if _keep(c) else " " if c.isspace() else "" for c in t)
    return " ".join(t.split())


def edit_distance(a, b):
    if len(a) < len(b):
        a, b = b, a
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def compression_ratio(text):
    """openai-whisper's: len(utf-8 bytes) / len(zlib.compress(bytes))."""
    b = text.encode("utf-8")
    return len(b) / len(zlib.compress(b)) if b else 0.0


REPEAT = re.compile(r"(.{2,}?)\1{3,}", re.S)


def loop_flags(text):
    t = " ".join(text.split())
    m = REPEAT.search(t)
    return bool(m), compression_ratio(t) > 2.4, (m.group(1) if m else None)


def non_empty(text):
    """Anything left once whitespace, punctuation and control characters are removed."""
    return "".join(c for c in text if unicodedata.category(c)[0] not in "ZPC")


# ------------------------------------------------------------------ audio

def resample(x, sr_in, sr_out):
    """Band-limited resampling by the FFT (whole clip)."""
    if sr_in == sr_out:
        return x
    n_out = int(round(len(x) * sr_out / sr_in))
    X = np.fft.rfft(x.astype(np.float64))
    Y = np.zeros(n_out // 2 + 1, dtype=complex)
    k = min(len(X), len(Y))
    Y[:k] = X[:k]
    return (np.fft.irfft(Y, n_out) * (n_out / len(x))).astype(np.float32)


def read_audio(path):
    """float32 mono at 16 kHz, PCM read as int16 / 32768 (as sori reads it); channels mixed."""
    import soundfile as sf
    x, sr = sf.read(path, dtype="int16", always_2d=True)
    x = x.astype(np.float32) / np.float32(32768)
    x = x.mean(axis=1) if x.shape[1] > 1 else x[:, 0]
    return np.ascontiguousarray(resample(x, sr, SR), dtype=np.float32)


def _scale(x, dbfs):
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return x * (10 ** (dbfs / 20) / rms) if rms > 0 else x


def _colored(rng, n, alpha, sr=SR):
    """Noise with power ~ 1/f^alpha above 20 Hz (no DC)."""
    X = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / sr)
    g = np.zeros_like(f)
    g[f > 0] = np.maximum(f[f > 0], 20.0) ** (-alpha / 2)
    return np.fft.irfft(X * g, n)


def _hum(rng, n, f0):
    t = np.arange(n) / SR
    x = np.zeros(n)
    for h in range(1, 10):
        amp = (1.0 if h % 2 else 0.5) / h ** 1.2  # odd harmonics stronger, as from a transformer
        x += amp * np.sin(2 * np.pi * f0 * h * t * (1 + rng.uniform(-2e-4, 2e-4)) + rng.uniform(0, 2 * np.pi))
    return x


def _clicks(rng, n):
    x = np.zeros(n)
    for _ in range(rng.integers(3, 4 + n // SR * 3)):
        at, ln = rng.integers(0, n), rng.integers(16, 96)
        seg = rng.uniform(0.1, 0.8) * rng.choice([-1, 1]) * np.exp(-np.arange(ln) / (ln / 5))
        seg = seg * np.sign(rng.standard_normal(ln) + 2)
        x[at:at + ln] += seg[:max(0, min(ln, n - at))]
    return x


DTMF_LO, DTMF_HI = (697, 770, 852, 941), (1209, 1336, 1477, 1633)


def _dtmf(rng, n):
    x = np.zeros(n)
    at = int(rng.uniform(0.1, 0.5) * SR)
    while at < n:
        ln = int(rng.uniform(0.06, 0.15) * SR)
        t = np.arange(min(ln, n - at)) / SR
        lo, hi = rng.choice(DTMF_LO), rng.choice(DTMF_HI)
        x[at:at + len(t)] = 0.25 * (np.sin(2 * np.pi * lo * t) + np.sin(2 * np.pi * hi * t))
        at += ln + int(rng.uniform(0.05, 0.6) * SR)
    return x


def _comfort(rng, n, dbfs):
    """Comfort noise as a narrowband codec makes it: made at 8 kHz, mildly tilted, resampled to 16 kHz."""
    n8 = n // 2 + 1
    x8 = _colored(rng, n8, 0.6, sr=8000)
    x = resample(_scale(x8, dbfs).astype(np.float32), 8000, SR)
    return np.pad(x, (0, max(0, n - len(x))))[:n]


def noise_clips(work):
    """The 100 non-speech clips: [(id, path, duration_s, category)], written to WORK/noise."""
    import soundfile as sf
    out = os.path.join(work, "noise")
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(NOISE_SEED)
    clips = []
    for cat in ("silence", "white", "colored", "hum", "mix"):
        lengths = rng.permutation(np.linspace(1.0, 20.0, 20))
        for k in range(20):
            n = int(round(lengths[k] * SR))
            if cat == "silence":
                x, desc = np.zeros(n), "digital silence"
            elif cat == "white":
                lvl = (-60, -50, -40, -30, -20)[k % 5]
                x, desc = _scale(rng.standard_normal(n), lvl), f"white {lvl} dBFS"
            elif cat == "colored":
                lvl, kind = (-50, -40, -30, -20)[(k // 2) % 4], ("pink", "brown")[k % 2]
                x, desc = _scale(_colored(rng, n, 1.0 if kind == "pink" else 2.0), lvl), f"{kind} {lvl} dBFS"
            elif cat == "hum":
                f0, lvl = (50, 60)[k % 2], (-40, -35, -30, -25, -20)[(k // 2) % 5]
                x = _scale(_hum(rng, n, f0), lvl) + _scale(rng.standard_normal(n), -65)
                desc = f"hum {f0} Hz {lvl} dBFS + white -65 dBFS"
            else:
                v = k % 4
                lvl = (-55, -50, -45, -40, -35)[k // 4]
                bed = _comfort(rng, n, lvl)
                if v == 0:
                    x, desc = bed + _clicks(rng, n), f"clicks on comfort noise {lvl} dBFS"
                elif v == 1:
                    x, desc = bed + _dtmf(rng, n), f"DTMF-like tones on comfort noise {lvl} dBFS"
                elif v == 2:
                    x, desc = bed, f"comfort noise (8 kHz) {lvl} dBFS"
                else:
                    x = bed + _clicks(rng, n) + _dtmf(rng, n) + _scale(_hum(rng, n, 50), -45)
                    desc = f"clicks + DTMF + hum -45 dBFS on comfort noise {lvl} dBFS"
            pcm = np.round(np.clip(x, -1.0, 32767 / 32768) * 32768).astype(np.int16)
            cid = f"noise{NOISE_VERSION}-{cat}-{k:02d}"
            path = os.path.join(out, cid + ".wav")
            sf.write(path, pcm, SR, subtype="PCM_16")
            clips.append({"id": cid, "path": path, "duration": n / SR, "source": cat, "desc": desc, "transcript": None})
    return clips


def dev_clips(data, count, sources):
    man = os.path.join(data, "manifest.tsv")
    if not os.path.exists(man):
        die(f"no {man}")
    with open(man, encoding="utf-8") as f:
        head = f.readline().rstrip("\n").split("\t")
        col = {c: i for i, c in enumerate(head)}
        for c in ("id", "path", "duration_s", "transcript", "source"):
            if c not in col:
                die(f"{man}: no column {c}")
        clips = []
        for line in f:
            r = line.rstrip("\n").split("\t")
            if len(r) < len(head):
                continue
            if sources and not any(s in r[col["source"]] for s in sources):
                continue
            clips.append({"id": r[col["id"]], "path": os.path.join(data, r[col["path"]]),
                          "duration": float(r[col["duration_s"]]), "source": r[col["source"]],
                          "transcript": r[col["transcript"]]})
    return clips[:count] if count else clips


# ------------------------------------------------------------------ implementations

def sha256(path, _memo={}):
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _memo:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for b in iter(lambda: f.read(1 << 20), b""):
                h.update(b)
        _memo[key] = h.hexdigest()
    return _memo[key]


def file_info(path):
    st = os.stat(path)
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime": int(st.st_mtime), "sha256": sha256(path)}


class Cache:
    """WORK/cache/KEY.jsonl: one {"id", "text", "time_s", "load1"} per clip; KEY hashes the descriptor."""

    def __init__(self, work, desc):
        d = os.path.join(work, "cache")
        os.makedirs(d, exist_ok=True)
        self.key = hashlib.sha256(json.dumps(desc, sort_keys=True).encode()).hexdigest()[:20]
        self.path = os.path.join(d, self.key + ".jsonl")
        with open(os.path.join(d, self.key + ".json"), "w") as f:
            json.dump(desc, f, indent=1, sort_keys=True)
        self.rows = {}
        if os.path.exists(self.path):
            with open(self.path, encoding="utf-8") as f:
                for line in f:
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue  # a line cut short by an interrupted run
                    self.rows[r["id"]] = r

    def add(self, rows):
        with open(self.path, "a", encoding="utf-8") as f:
            for r in rows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
                self.rows[r["id"]] = r


def run_sori(args, model, beam, clips, cache, label):
    todo = [c for c in clips if c["id"] not in cache.rows]
    failed = {}
    for i in range(0, len(todo), args.files_per_run):
        part = todo[i:i + args.files_per_run]
        cmd = [args.sori, "transcribe", "--model", model, "--format", "tsv", "--language", "ko",
               "--threads", str(args.threads), "--best-of", str(BEST_OF)]
        cmd += ["--beam", str(beam)] if beam else []
        cmd += ["--device", args.device] if args.device else []
        cmd += [c["path"] for c in part]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        load1 = os.getloadavg()[0]
        got = {}
        for line in r.stdout.splitlines():
            p, tab, text = line.partition("\t")
            if tab:
                got[p] = text
        total = sum(c["duration"] for c in part) or 1.0
        rows = []
        for c in part:
            if c["path"] in got:
                rows.append({"id": c["id"], "text": got[c["path"]], "time_s": wall * c["duration"] / total,
                             "load1": load1})
            else:
                failed[c["id"]] = r.stderr.strip()[-300:]
        cache.add(rows)
        print(f"  {label}: {min(i + args.files_per_run, len(todo))}/{len(todo)} clips ({wall:.1f} s, load {load1:.2f})",
              file=sys.stderr)
        if r.returncode not in (0, 1):
            print(f"  sori exited {r.returncode}: {r.stderr.strip()[-500:]}", file=sys.stderr)
    return failed


_OPENAI = {}


def openai_model(path):
    if path not in _OPENAI:
        sys.path.insert(0, os.path.join(ROOT, "tools"))
        from gen_whisper_fixtures import load_gguf_into_openai
        _OPENAI.clear()
        _OPENAI[path] = load_gguf_into_openai(path)[0]
    return _OPENAI[path]


def run_openai(args, model_path, beam, clips, cache, label):
    import torch
    import whisper
    todo = [c for c in clips if c["id"] not in cache.rows]
    if not todo:
        return {}
    torch.set_num_threads(args.torch_threads)
    model = openai_model(model_path)
    failed = {}
    t_last = time.perf_counter()
    for i, c in enumerate(todo):
        try:
            audio = read_audio(c["path"])
            torch.manual_seed(0)
            t0 = time.perf_counter()
            with torch.no_grad():
                res = whisper.transcribe(model, audio, language="ko", task="transcribe", fp16=False,
                                         beam_size=beam or None, best_of=BEST_OF, temperature=TEMPERATURES,
                                         compression_ratio_threshold=2.4, logprob_threshold=-1.0,
                                         no_speech_threshold=0.6, condition_on_previous_text=True,
                                         word_timestamps=False, verbose=None)
            wall = time.perf_counter() - t0
        except Exception as e:  # noqa: BLE001 - report and go on
            failed[c["id"]] = repr(e)[-300:]
            continue
        text = res["text"].replace("\t", " ").replace("\n", " ")
        cache.add([{"id": c["id"], "text": text, "time_s": wall, "load1": os.getloadavg()[0]}])
        if time.perf_counter() - t_last > 30 or i + 1 == len(todo):
            t_last = time.perf_counter()
            print(f"  {label}: {i + 1}/{len(todo)} clips (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    return failed


# ------------------------------------------------------------------ scoring

def cer_of(pairs):
    out = {}
    for spaces in (False, True):
        e = n = 0
        for ref, hyp in pairs:
            r, h = normalize(ref, spaces), normalize(hyp, spaces)
            e += edit_distance(r, h)
            n += len(r)
        out["cer_space" if spaces else "cer_nospace"] = e / n if n else None
        out["ref_chars_space" if spaces else "ref_chars_nospace"] = n
    return out


def loops_of(texts):
    rep = gz = anyl = 0
    listed = []
    for cid, t in texts:
        r, g, unit = loop_flags(t)
        rep += r
        gz += g
        anyl += r or g
        if r or g:
            listed.append({"id": cid, "repeat_unit": unit, "compression_ratio": round(compression_ratio(t), 3),
                           "text": t})
    n = len(texts) or 1
    return {"repeat4": rep, "gzip_gt_2.4": gz, "either": anyl, "fraction": anyl / n, "clips": listed}


def speed_of(rows, clips):
    t = sum(rows[c["id"]]["time_s"] for c in clips if c["id"] in rows)
    dur = sum(c["duration"] for c in clips if c["id"] in rows)
    loads = [rows[c["id"]]["load1"] for c in clips if c["id"] in rows]
    return {"wall_s": t, "audio_s": dur, "rtf": t / dur if dur else None,
            "load1_mean": float(np.mean(loads)) if loads else None, "note": "not a benchmark"}


def score_dev(clips, rows, ref_rows):
    have = [c for c in clips if c["id"] in rows]
    texts = {c["id"]: rows[c["id"]]["text"] for c in have}
    res = {"clips": len(have), "missing": len(clips) - len(have)}
    res.update(cer_of([(c["transcript"], texts[c["id"]]) for c in have]))
    res["per_source"] = {}
    for src in sorted({c["source"] for c in have}):
        sub = [c for c in have if c["source"] == src]
        res["per_source"][src] = dict(clips=len(sub), **cer_of([(c["transcript"], texts[c["id"]]) for c in sub]))
    res["loops"] = loops_of([(c["id"], texts[c["id"]]) for c in have])
    if ref_rows is not None:
        both = [c for c in have if c["id"] in ref_rows]
        pairs = [(ref_rows[c["id"]]["text"], texts[c["id"]]) for c in both]
        v = dict(clips=len(both), **cer_of(pairs))
        v["identical_raw"] = sum(a.strip() == b.strip() for a, b in pairs)
        v["identical_nospace"] = sum(normalize(a, False) == normalize(b, False) for a, b in pairs)
        res["vs_openai"] = v
    res["speed"] = speed_of(rows, clips)
    return res


def score_noise(clips, rows):
    have = [c for c in clips if c["id"] in rows]
    listed = [{"id": c["id"], "desc": c["desc"], "duration_s": c["duration"], "text": rows[c["id"]]["text"]}
              for c in have if non_empty(rows[c["id"]]["text"])]
    per_cat = {}
    for c in have:
        d = per_cat.setdefault(c["source"], {"clips": 0, "non_empty": 0})
        d["clips"] += 1
        d["non_empty"] += bool(non_empty(rows[c["id"]]["text"]))
    return {"clips": len(have), "missing": len(clips) - len(have), "non_empty": len(listed),
            "per_category": per_cat, "non_empty_clips": listed, "speed": speed_of(rows, clips)}


# ------------------------------------------------------------------ main

def versions(args):
    v = {"python": platform.python_version(), "numpy": np.__version__, "machine": platform.machine(),
         "cpus": os.cpu_count()}
    try:
        r = subprocess.run([args.sori, "--version"], capture_output=True, text=True)
        v["sori"] = r.stdout.strip().split("\n")[0]
        v["sori_sha256"] = sha256(args.sori)
    except OSError:
        pass
    try:
        g = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True, text=True)
        v["git"] = g.stdout.strip()
    except OSError:
        pass
    if args.openai:
        import torch
        import whisper
        v["openai-whisper"] = whisper.__version__
        v["torch"] = torch.__version__
    return v


def fmt(x, pct=True):
    if x is None:
        return "-"
    return f"{100 * x:.2f}" if pct else f"{x:.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", help="sori.whisper GGUF for sori (repeatable; default "
                    "data/whisper-base-f16.gguf)")
    ap.add_argument("--ref-model", help="GGUF whose weights openai-whisper runs (default: the first --model)")
    ap.add_argument("--sori", default=os.path.join(ROOT, "build/bin/sori"))
    ap.add_argument("--data", default="../shared/data/speech_dev")
    ap.add_argument("--count", type=int, default=0, help="first N dev clips (default all)")
    ap.add_argument("--sources", default="", help="comma-separated substrings of the source column")
    ap.add_argument("--beam", type=int, default=0, help="also decode with this beam size (0: greedy only)")
    ap.add_argument("--no-greedy", action="store_true", help="with --beam: the beam only")
    ap.add_argument("--work", default="/tmp/eval_whisper")
    ap.add_argument("--out", help="JSON results (default WORK/results.json)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="sori --threads")
    ap.add_argument("--torch-threads", type=int, default=os.cpu_count())
    ap.add_argument("--device", help="sori --device (default: sori's)")
    ap.add_argument("--files-per-run", type=int, default=50, help="files per sori process")
    ap.add_argument("--no-sori", dest="sori_on", action="store_false")
    ap.add_argument("--no-openai", dest="openai", action="store_false")
    ap.add_argument("--no-dev", dest="dev", action="store_false")
    ap.add_argument("--no-noise", dest="noise", action="store_false")
    ap.add_argument("--no-openai-noise", dest="openai_noise", action="store_false")
    args = ap.parse_args()
    models = [os.path.abspath(m) for m in (args.model or [os.path.join(ROOT, "data/whisper-base-f16.gguf")])]
    ref_model = os.path.abspath(args.ref_model or models[0])
    for m in models + ([ref_model] if args.openai else []):
        if not os.path.exists(m):
            die(f"no {m}")
    if args.sori_on and not os.access(args.sori, os.X_OK):
        die(f"no {args.sori}")
    decodings = ([] if args.no_greedy and args.beam else [0]) + ([args.beam] if args.beam else [])
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    out = args.out or os.path.join(work, "results.json")
    sources = [s for s in args.sources.split(",") if s]
    ver = versions(args)

    sets = {}
    if args.dev:
        sets["dev"] = dev_clips(args.data, args.count, sources)
    if args.noise:
        sets["noise"] = noise_clips(work)

    impls = []  # (label, kind, model)
    if args.sori_on:
        for m in models:
            impls.append((f"sori:{os.path.basename(m)}", "sori", m))
    if args.openai:
        impls.append((f"openai-whisper:{os.path.basename(ref_model)}", "openai", ref_model))

    options = {"language": "ko", "task": "transcribe", "temperatures": TEMPERATURES, "best_of": BEST_OF,
               "compression_ratio_threshold": 2.4, "logprob_threshold": -1.0, "no_speech_threshold": 0.6,
               "condition_on_previous_text": True, "word_timestamps": False}
    results = {}
    for beam in decodings:
        dname = f"beam{beam}" if beam else "greedy"
        results[dname] = {}
        rows_of = {}
        for label, kind, m in impls:
            res = results[dname].setdefault(label, {})
            for sname, clips in sets.items():
                if kind == "openai" and sname == "noise" and not args.openai_noise:
                    continue
                desc = {"impl": kind, "model_sha256": sha256(m), "model_size": os.path.getsize(m),
                        "options": dict(options, beam_size=beam or None), "set": sname,
                        "noise_version": NOISE_VERSION if sname == "noise" else None}
                if kind == "sori":
                    desc["sori_sha256"] = ver.get("sori_sha256")
                    desc["device"] = args.device
                else:
                    desc["openai-whisper"], desc["torch"] = ver["openai-whisper"], ver["torch"]
                cache = Cache(work, desc)
                n_todo = sum(c["id"] not in cache.rows for c in clips)
                print(f"{dname} {label} {sname}: {len(clips) - n_todo} cached, {n_todo} to transcribe",
                      file=sys.stderr)
                run = run_sori if kind == "sori" else run_openai
                failed = run(args, m, beam, clips, cache, f"{dname} {label} {sname}")
                rows_of[(label, sname)] = cache.rows
                res[sname] = {"cache": cache.path, "failed": failed}
        ref_label = impls[-1][0] if impls and impls[-1][1] == "openai" else None
        for label, kind, m in impls:
            res = results[dname][label]
            if "dev" in res:
                ref_rows = rows_of.get((ref_label, "dev")) if ref_label and kind == "sori" else None
                res["dev"].update(score_dev(sets["dev"], rows_of[(label, "dev")], ref_rows))
            if "noise" in res:
                res["noise"].update(score_noise(sets["noise"], rows_of[(label, "noise")]))

    baseline = None
    if "dev" in sets:
        baseline = loops_of([(c["id"], c["transcript"]) for c in sets["dev"]])
        baseline.pop("clips")
    doc = {"options": dict(options, decodings=[f"beam{b}" if b else "greedy" for b in decodings],
                           sori_threads=args.threads, torch_threads=args.torch_threads,
                           sori_files_per_run=args.files_per_run,
                           device=args.device, count=args.count, sources=sources, data=args.data,
                           noise_seed=NOISE_SEED, noise_version=NOISE_VERSION),
           "versions": ver,
           "models": {os.path.basename(m): file_info(m) for m in sorted(set(models + [ref_model]))},
           "clip_counts": {s: len(c) for s, c in sets.items()},
           "audio_s": {s: sum(c["duration"] for c in cl) for s, cl in sets.items()},
           "reference_transcript_loops": baseline,
           "load_average_end": os.getloadavg(),
           "results": results}
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)

    # ---- the table
    print(f"eval_whisper: {', '.join(f'{s} {n} clips' for s, n in doc['clip_counts'].items())}; "
          f"{ver.get('sori', 'sori')} ({ver.get('git', '')}), openai-whisper {ver.get('openai-whisper', '-')}, "
          f"torch {ver.get('torch', '-')}")
    srcs = sorted({c["source"] for c in sets.get("dev", [])})
    short = {s: s.split("/")[-1][:12] for s in srcs}
    for dname, per in results.items():
        print(f"\n[{dname}]  CER % (nospace / space); vs-openai: CER % of sori against openai-whisper, identical")
        hdr = f"{'implementation':36} {'CER':>6} {'CERsp':>6} " + " ".join(f"{short[s]:>12}" for s in srcs)
        hdr += f" {'loops':>7} {'vsOAI':>6} {'vsOAIsp':>7} {'ident':>7} {'noise':>6}"
        print(hdr)
        for label, res in per.items():
            d, nz = res.get("dev"), res.get("noise")
            line = f"{label[:36]:36} "
            if d:
                line += f"{fmt(d['cer_nospace']):>6} {fmt(d['cer_space']):>6} "
                line += " ".join(f"{fmt(d['per_source'].get(s, {}).get('cer_nospace')):>12}" for s in srcs)
                line += f" {d['loops']['either']:>3}/{d['clips']:<3}"
                v = d.get("vs_openai")
                line += (f" {fmt(v['cer_nospace']):>6} {fmt(v['cer_space']):>7} {v['identical_raw']:>3}/{v['clips']:<3}"
                         if v else f" {'-':>6} {'-':>7} {'-':>7}")
            else:
                line += " " * (14 + 13 * len(srcs) + 31)
            line += f" {nz['non_empty']:>2}/{nz['clips']:<3}" if nz else f" {'-':>6}"
            print(line)
        print("  speed (not a benchmark; load average while it ran):")
        for label, res in per.items():
            for sname in ("dev", "noise"):
                if sname in res and res[sname].get("speed", {}).get("rtf") is not None:
                    sp = res[sname]["speed"]
                    print(f"    {label[:36]:36} {sname:5} {sp['wall_s']:8.1f} s for {sp['audio_s']:7.1f} s audio, "
                          f"RTF {sp['rtf']:.3f}, load {sp['load1_mean']:.2f}")
        for label, res in per.items():
            nz = res.get("noise")
            for c in (nz or {}).get("non_empty_clips", []):
                print(f"  noise non-empty {label}: {c['id']} ({c['desc']}, {c['duration_s']:.1f} s): {c['text']!r}")
            for sname in ("dev", "noise"):
                if res.get(sname, {}).get("failed"):
                    print(f"  FAILED {label} {sname}: {len(res[sname]['failed'])} clips (see {out})")
    if baseline:
        print(f"\nloops in the reference transcripts (baseline): {baseline['either']}/{len(sets['dev'])}")
    print(f"results: {out}")


if __name__ == "__main__":
    main()
