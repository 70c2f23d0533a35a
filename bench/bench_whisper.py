#!/usr/bin/env python3
"""Whisper long-form speed: sori vs whisper.cpp vs faster-whisper, same weights, same audio, one run.

Transcribes a 60 s and a 10 min Korean WAV (16 kHz mono PCM16, real clips
from the evaluation set, grouped by speaker, joined with 0.3 s of silence;
built in INPUT_DIR if missing) with the three command-line programs, whole process each time
(model load included), every configuration RUNS times in round-robin order
after one untimed warm-up per configuration; reports the median wall time,
the real-time factor, the speedup of sori over each peer (peer time / sori
time), peak RSS (/usr/bin/time -v), and the CER of each transcript against
sori's (same decoding) and against the clips' reference transcripts, spaces
and punctuation removed.

Settings shared by all: language ko, task transcribe, temperature 0 without
fallback, timestamp tokens on, no word timestamps, previous text as prompt,
no VAD, THREADS threads; greedy (beam 1) and beam 5.

The peers are built outside the repository (see bench/README.md):
  whisper.cpp   --whisper-cli  .../build/bin/whisper-cli, --ggml ggml-base.bin
                (f16, converted from data/whisper-base-f16.gguf) and optionally
                --ggml-q8 (whisper-quantize ... q8_0)
  faster-whisper  pip install faster-whisper; --ct2 a CTranslate2 Whisper base dir

    python3 bench/bench_whisper.py /tmp/bench_whisper [--runs 3] [--runs-long 3]
"""
import argparse
import atexit
import csv
import fcntl
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from peers import cpu_jiffies, wait_quiet  # noqa: E402

SR = 16000
GAP_S = 0.3

FW_CHILD = r"""
import json, sys, time
t0 = time.perf_counter()
from faster_whisper import WhisperModel
t1 = time.perf_counter()
model_dir, compute, threads, beam, path = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=threads, num_workers=1)
t2 = time.perf_counter()
segs, info = m.transcribe(path, language="ko", task="transcribe", beam_size=beam, best_of=1, temperature=0.0,
                          condition_on_previous_text=True, vad_filter=False, word_timestamps=False,
                          without_timestamps=False)
text = "\n".join(s.text.strip() for s in segs)
t3 = time.perf_counter()
print(json.dumps({"text": text, "import_s": t1 - t0, "load_s": t2 - t1, "run_s": t3 - t2}, ensure_ascii=False))
"""


# ------------------------------------------------------------------ inputs

def make_inputs(folder, dev, lengths):
    """folder/ko_{N}s.wav (+ .txt reference) for each N in lengths, from dev/manifest.tsv: clips
    grouped by speaker (speakers in order of first appearance, clips in manifest order, so the
    audio reads like talks), whole clips while they fit, 0.3 s silence after each, silence to
    exactly N s. (In plain manifest order every clip is another speaker, and Whisper, openai's
    included, ends most 30 s windows after their first clip and skips the rest.)"""
    import soundfile as sf
    os.makedirs(folder, exist_ok=True)
    out = {}
    rows = None
    for n in lengths:
        wav, txt = os.path.join(folder, f"ko_{n}s.wav"), os.path.join(folder, f"ko_{n}s.txt")
        out[n] = (wav, txt)
        if os.path.exists(wav) and os.path.exists(txt):
            continue
        if rows is None:
            with open(os.path.join(dev, "manifest.tsv"), encoding="utf-8") as f:
                rows = list(csv.DictReader(f, delimiter="\t"))
            order = {}
            for r in rows:
                order.setdefault(r["speaker"], len(order))
            rows.sort(key=lambda r: order[r["speaker"]])  # stable: manifest order within a speaker
        parts, refs, total = [], [], 0
        gap = np.zeros(int(GAP_S * SR), dtype=np.int16)
        for r in rows:
            x, sr = sf.read(os.path.join(dev, r["path"]), dtype="int16")
            if sr != SR or x.ndim != 1:
                continue
            if total + len(x) + len(gap) > n * SR:
                break
            parts += [x, gap]
            refs.append(r["transcript"])
            total += len(x) + len(gap)
        parts.append(np.zeros(n * SR - total, dtype=np.int16))
        sf.write(wav, np.concatenate(parts), SR, subtype="PCM_16")
        with open(txt, "w", encoding="utf-8") as f:
            f.write("\n".join(refs) + "\n")
        print(f"wrote {wav}: {len(refs)} clips, {n} s", file=sys.stderr)
    return out


# ------------------------------------------------------------------ runs

def snapshot_sori(sori, folder):
    """Copies the sori CLI and its libsori*.so (found through $ORIGIN/../lib) to folder/bin and
    folder/lib, so that a rebuild during the benchmark does not change what is timed; returns the
    copy and the sha256 of libsori."""
    import glob
    import hashlib
    lib = os.path.join(os.path.dirname(os.path.abspath(sori)), "..", "lib")
    for d in ("bin", "lib"):
        os.makedirs(os.path.join(folder, d), exist_ok=True)
    shutil.copy2(sori, os.path.join(folder, "bin", "sori"))
    digest = ""
    for f in sorted(glob.glob(os.path.join(lib, "libsori*.so*"))):
        shutil.copy2(f, os.path.join(folder, "lib", os.path.basename(f)))  # follows links: plain copies
        if os.path.basename(f) == "libsori.so.0":
            with open(f, "rb") as fh:
                digest = hashlib.sha256(fh.read()).hexdigest()
    return os.path.join(folder, "bin", "sori"), digest


def normalize(s):
    """Letters and digits only (no spaces, punctuation, symbols)."""
    return "".join(c for c in unicodedata.normalize("NFC", s) if unicodedata.category(c)[0] in "LN")


def edit_distance(a, b):
    """Levenshtein distance (tools/ko/cer.py's, a row at a time in numpy: insertions by a running
    minimum), fast enough for 10 min transcripts."""
    bb = np.array([ord(c) for c in b], dtype=np.int64)
    j = np.arange(len(b) + 1, dtype=np.int64)
    prev = j.copy()
    for i, ca in enumerate(a, 1):
        cur = np.empty_like(prev)
        cur[0] = i
        cur[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (bb != ord(ca)))
        prev = np.minimum.accumulate(cur - j) + j
    return int(prev[-1])


def cer(ref, hyp):
    r, h = normalize(ref), normalize(hyp)
    return edit_distance(r, h) / max(len(r), 1)


def timed(cmd, tmp):
    """Runs cmd under /usr/bin/time -v; returns (wall s, peak RSS MB, stdout, stderr, share of the
    CPUs used by other processes during the run)."""
    tv = os.path.join(tmp, f"time.{os.getpid()}.txt")  # one per benchmark process
    b0, j0 = cpu_jiffies()
    t0 = time.perf_counter()
    # errors="replace": whisper.cpp can print a character's UTF-8 bytes split over two segments
    p = subprocess.run(["/usr/bin/time", "-v", "-o", tv] + cmd, capture_output=True, text=True, errors="replace")
    wall = time.perf_counter() - t0
    b1, j1 = cpu_jiffies()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    with open(tv) as f:
        text = f.read()
    os.remove(tv)
    tv = text
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv).group(1)) / 1024
    own = sum(float(re.search(rf"{k} time \(seconds\): ([\d.]+)", tv).group(1)) for k in ("User", "System"))
    hz = os.sysconf("SC_CLK_TCK")
    ncpu = (j1 - j0) / hz / wall
    other = max(0.0, ((b1 - b0) / hz - own) / max(ncpu * wall, 1e-9))
    return wall, rss, p.stdout, p.stderr, other


def run_sori(a, cfg, wav, tmp):
    cmd = [a.sori, "transcribe", "--model", a.gguf, "--threads", str(a.threads), "--language", "ko",
           "--no-fallback"] + (["--beam", str(cfg["beam"])] if cfg["beam"] > 1 else []) + [wav]
    wall, rss, out, _, other = timed(cmd, tmp)
    return dict(wall=wall, rss=rss, text=out, load=None, other=other)


def run_wcpp(a, cfg, wav, tmp):
    cmd = [a.whisper_cli, "-m", cfg["model"], "-f", wav, "-l", "ko", "-t", str(a.threads),
           "-bs", str(cfg["beam"]), "-bo", "1", "-nf"]
    wall, rss, out, err, other = timed(cmd, tmp)
    text = "\n".join(re.sub(r"^\[[^\]]*\]\s*", "", ln).strip() for ln in out.splitlines() if ln.strip())
    load = re.search(r"load time =\s*([\d.]+) ms", err)
    return dict(wall=wall, rss=rss, text=text, load=float(load.group(1)) / 1000 if load else None, other=other)


def run_fw(a, cfg, wav, tmp):
    cmd = [sys.executable, "-c", FW_CHILD, a.ct2, cfg["compute"], str(a.threads), str(cfg["beam"]), wav]
    wall, rss, out, _, other = timed(cmd, tmp)
    j = json.loads(out.strip().splitlines()[-1])
    return dict(wall=wall, rss=rss, text=j["text"], load=j["load_s"], imp=j["import_s"], other=other)


def configs(a):
    c = []
    for beam in a.beams:
        dec = "greedy" if beam == 1 else f"beam{beam}"
        c.append(dict(tool="sori", prec="f16", beam=beam, dec=dec, fn=run_sori, extra=False))
        if a.whisper_cli:
            c.append(dict(tool="whisper.cpp", prec="f16", beam=beam, dec=dec, fn=run_wcpp, model=a.ggml,
                          extra=False))
            if a.ggml_q8:
                c.append(dict(tool="whisper.cpp", prec="q8_0", beam=beam, dec=dec, fn=run_wcpp,
                              model=a.ggml_q8, extra=True))
        if a.ct2:
            c.append(dict(tool="faster-whisper", prec="float32", beam=beam, dec=dec, fn=run_fw,
                          compute="float32", extra=False))
            if a.int8:
                c.append(dict(tool="faster-whisper", prec="int8", beam=beam, dec=dec, fn=run_fw,
                              compute="int8", extra=True))
    return c


def table(results):
    print("\n| tool | precision | decoding | audio | runs | median wall s | RTF | speedup of sori "
          "(peer/sori) | peak RSS MB | load s | CER vs sori | CER vs ref | others' CPU (max) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        s = next(x for x in results if x["tool"] == "sori" and x["dec"] == r["dec"] and x["audio_s"] == r["audio_s"])
        r["speedup"] = r["wall"] / s["wall"]
        r["cer_sori"] = cer(s["text"], r["text"])
        load = f"{r['load']:.2f}" if r["load"] is not None else "-"
        flag = "" if r["stable"] else " (text varied between runs)"
        print(f"| {r['tool']} | {r['prec']} | {r['dec']} | {r['audio_s']} s | {r['runs']} | {r['wall']:.2f} | "
              f"{r['wall'] / r['audio_s']:.3f} | {r['speedup']:.2f} | {r['rss']:.0f} | {load} | "
              f"{r['cer_sori']:.2%} | {r['cer_ref']:.2%}{flag} | {r['other']:.0%} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input_dir", nargs="?", default="/tmp/bench_whisper",
                    help="where the WAVs are (made if missing) and results go")
    ap.add_argument("--dev", default="../shared/data/speech_dev", help="manifest.tsv + audio/ of real clips")
    ap.add_argument("--lengths", type=int, nargs="+", default=[60, 600], help="audio lengths in seconds")
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--gguf", default=os.path.join(ROOT, "data", "whisper-base-f16.gguf"))
    ap.add_argument("--whisper-cli", default="/tmp/peers/whisper.cpp/build/bin/whisper-cli",
                    help="'' to leave whisper.cpp out")
    ap.add_argument("--ggml", default="/tmp/peers/models/ggml-base.bin")
    ap.add_argument("--ggml-q8", default="/tmp/peers/models/ggml-base-q8_0.bin", help="'' for no q8_0 row")
    ap.add_argument("--ct2", default="/tmp/ct2", help="'' to leave faster-whisper out")
    ap.add_argument("--no-int8", dest="int8", action="store_false", help="no faster-whisper int8 row")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--beams", type=int, nargs="+", default=[1, 5])
    ap.add_argument("--runs", type=int, default=3, help="timed runs per configuration, short audio")
    ap.add_argument("--runs-long", type=int, default=3, help="timed runs per configuration, audio over 60 s")
    ap.add_argument("--quiet", type=float, default=0.1,
                    help="before each timed run wait until other processes use under this share of the CPUs")
    ap.add_argument("--redo", type=int, default=2,
                    help="times a run is done again when others used over twice --quiet during it")
    ap.add_argument("--max-wait", type=float, default=900, help="seconds to wait for a quiet machine")
    ap.add_argument("--long-extras", action="store_true",
                    help="also run the extra rows (q8_0, int8) on audio over 60 s")
    a = ap.parse_args()
    if not os.path.exists("/usr/bin/time"):
        sys.exit("needs /usr/bin/time (apt-get install time)")
    for p in (a.sori, a.gguf) + ((a.whisper_cli, a.ggml) if a.whisper_cli else ()) + \
            ((a.ct2,) if a.ct2 else ()):
        if not os.path.exists(p):
            sys.exit(f"missing {p}")
    if a.ggml_q8 and not os.path.exists(a.ggml_q8):
        print(f"no {a.ggml_q8}: no q8_0 row", file=sys.stderr)
        a.ggml_q8 = ""

    os.makedirs(a.input_dir, exist_ok=True)
    lock = open(os.path.join(a.input_dir, ".lock"), "w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"another bench_whisper.py is using {a.input_dir}: waiting for it", file=sys.stderr, flush=True)
        fcntl.flock(lock, fcntl.LOCK_EX)
    inputs = make_inputs(a.input_dir, a.dev, a.lengths)
    tmp = os.path.join(a.input_dir, "results")
    os.makedirs(tmp, exist_ok=True)
    rev = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                         text=True).stdout.strip()
    snap = tempfile.mkdtemp(prefix="sori_snapshot.", dir=a.input_dir)  # one per benchmark process
    atexit.register(shutil.rmtree, snap, True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # atexit runs on kill too
    a.sori, libsha = snapshot_sori(a.sori, snap)
    print(f"sori: tree {rev}, libsori sha256 {libsha[:16]}, run from {a.sori}", file=sys.stderr)
    load_before = os.getloadavg()
    print(f"load average before: {load_before}", file=sys.stderr)
    results = []
    first = True
    for n in a.lengths:
        wav, reftxt = inputs[n]
        with open(reftxt, encoding="utf-8") as f:
            ref = f.read()
        cfgs = [c for c in configs(a) if n <= 60 or a.long_extras or not c["extra"]]
        runs = a.runs if n <= 60 else a.runs_long
        recs = {id(c): [] for c in cfgs}
        if first:  # untimed warm-up: model files into the page cache, Python modules compiled
            for c in cfgs:
                c["fn"](a, c, wav, tmp)
            first = False
        for i in range(runs):
            for c in cfgs:
                for attempt in range(a.redo + 1):  # a run others disturbed is done again
                    before = wait_quiet(a.quiet, a.max_wait)
                    r = c["fn"](a, c, wav, tmp)
                    r["other"] = max(r["other"], before)
                    if r["other"] <= 2 * a.quiet or attempt == a.redo:
                        break
                    print(f"  others used {r['other']:.0%} of the CPUs during the run ({r['wall']:.2f} s): again",
                          file=sys.stderr, flush=True)
                recs[id(c)].append(r)
                print(f"{n:4d}s {c['tool']:14s} {c['prec']:7s} {c['dec']:6s} run {i + 1}: {r['wall']:7.2f} s "
                      f"{r['rss']:6.0f} MB  others' CPU before {before:.0%} during {r['other']:.0%}  "
                      f"loadavg {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
        for c in cfgs:
            rs = recs[id(c)]
            texts = {r["text"] for r in rs}
            results.append(dict(tool=c["tool"], prec=c["prec"], dec=c["dec"], audio_s=n, runs=len(rs),
                                walls=[r["wall"] for r in rs], wall=statistics.median(r["wall"] for r in rs),
                                rss=max(r["rss"] for r in rs),
                                load=statistics.median(r["load"] for r in rs) if rs[0]["load"] is not None
                                else None,
                                other=max(r["other"] for r in rs),
                                text=rs[0]["text"], stable=len(texts) == 1, cer_ref=cer(ref, rs[0]["text"])))
            safe = f"{c['tool']}_{c['prec']}_{c['dec']}_{n}s.txt"
            with open(os.path.join(tmp, safe), "w", encoding="utf-8") as f:
                f.write(rs[0]["text"])
        table([r for r in results if r["audio_s"] == n])
        print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}", flush=True)
        with open(os.path.join(tmp, "results.json"), "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=1)
    load_after = os.getloadavg()
    if len(a.lengths) > 1:
        table(results)
    print(f"\nsori: tree {rev}, libsori.so.0 sha256 {libsha[:16]}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in load_after)} ({os.cpu_count()} CPUs); "
          f"threads {a.threads}; transcripts in {tmp}/")


if __name__ == "__main__":
    main()
