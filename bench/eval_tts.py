#!/usr/bin/env python3
"""Intelligibility of Korean speech synthesis, measured by a recognizer: held-out corpus sentences
are spoken by each system, transcribed by sori's Whisper, and scored by character error rate.

    python3 bench/eval_tts.py [--n 300] [--systems sori,ort,espeak] [--voice jf_alpha]
                              [--onnx kokoro.onnx --voices voices_ja.npz] [--out /tmp/eval-tts]
                              [--split test|dev] [--speed 1.0] [--ipa-sub 'ʌ=ɔ'] [--voice a+b]

Choosing settings (a mapping, a speaker, the rate) is done on --split dev, a bucket of its own;
the reported numbers are --split test. --ipa-sub (ort only) replaces symbols of sori's IPA before
the ids, to try a mapping before writing it in text/ipa.c; --voice a+b (ort) takes the speakers'
mean style.

Systems:
  sori    `sori say` with the bundled Kokoro voice (data/kokoro-82m.gguf): sori's Korean front end
          (normalize → g2p → IPA) and sori's C engine;
  ort     the same phoneme ids (`sori text ipa`) and style row through onnxruntime on the
          original int8 ONNX file (--onnx, --voices): the same front end on the reference engine,
          so sori − ort is what the engine itself changes;
  espeak  espeak-ng's Korean voice, run as an external program (the baseline).
Sentences: lines of ../shared/data/text/ko_corpus.tsv.xz in the recipe's held-out "test" bucket
(tools/ko/text.py's hash, on the raw text), 10 to 60 characters, at least 5 Hangul syllables;
two thirds without digits and one third with (dates, prices, times, phone numbers go through
sori's TN), taken in the order of their SHA-1, so the set is fixed. Nothing is tuned on them.
CER: both the sentence and the transcript go through `sori text normalize` (digits said in
Hangul), then only Hangul syllables are compared (spaces and punctuation ignored); errors summed
over the sentences. Whisper: data/whisper-base-f16.gguf, --language ko --no-fallback (no
temperature fallback: on unintelligible audio it costs 5x the time and only changes which
hallucination comes out), one process per system.
WAVs stay in --out (never commit them).
"""
import argparse
import hashlib
import json
import lzma
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "data", "text", "ko_corpus.tsv.xz")
sys.path.insert(0, os.path.join(ROOT, "tools", "ko"))
from cer import edit_distance  # noqa: E402


def bucket(text):
    h = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")
    r = h % 1000
    return "test" if r < 8 else "dev" if r < 16 else "train"


def sentences(n, split="test"):
    plain, digits = [], []
    with lzma.open(CORPUS, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 3:
                continue
            t = p[2].strip()
            if not 10 <= len(t) <= 60 or bucket(t) != split:
                continue
            if sum("\uac00" <= c <= "\ud7a3" for c in t) < 5 or re.search(r"[\t<>\[\]{}|\\]", t):
                continue
            (digits if re.search(r"[0-9]", t) else plain).append(t)
    key = lambda t: hashlib.sha1(t.encode()).digest()  # noqa: E731
    plain.sort(key=key)
    digits.sort(key=key)
    nd = n // 3
    return plain[: n - nd] + digits[:nd]


SORI = os.path.join(ROOT, "build", "bin", "sori")


def sori_lines(args, lines):
    """one `sori` process over many lines (stdin), one output line each"""
    r = subprocess.run([SORI] + args, input="\n".join(lines) + "\n",
                       capture_output=True, text=True)
    out = r.stdout.split("\n")[: len(lines)]
    assert len(out) == len(lines), r.stderr
    return out


def hangul(text):
    return "".join(c for c in text if "\uac00" <= c <= "\ud7a3")


def synth_sori(sents, d, voice, speed):
    sori = SORI
    times = []
    for i, t in enumerate(sents):
        t0 = time.perf_counter()
        subprocess.run([sori, "say", "--speaker", voice, "--rate", str(speed), "-o", os.path.join(d, f"{i:03d}.wav"), t],
                       check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def synth_ort(sents, d, voice, onnx_path, voices_path, threads, speed, subs):
    import numpy as np
    import onnxruntime as ort
    import soundfile as sf
    vocab = {}
    import gguf
    r = gguf.GGUFReader(os.path.join(ROOT, "data", "kokoro-82m.gguf"))
    f = r.fields["sori.kokoro.vocab"]
    for i, idx in enumerate(f.data):
        s = bytes(f.parts[idx]).decode()
        if s:
            vocab[s] = i
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    packs = np.load(voices_path)
    pack = sum(packs[v] for v in voice.split("+")) / len(voice.split("+"))  # "a+b": the speakers' mean style
    ipa = sori_lines(["text", "ipa"], sents)
    for a, b in subs:
        ipa = [p.replace(a, b) for p in ipa]
    times = []
    for i, p in enumerate(ipa):
        ids = [vocab[c] for c in p if c in vocab][:510]
        style = pack[len(ids) - 1].reshape(1, -1).astype(np.float32)
        feed = {"tokens": np.array([[0] + ids + [0]], dtype=np.int64), "style": style,
                "speed": np.array([speed], dtype=np.float32)}
        t0 = time.perf_counter()
        audio = sess.run(None, feed)[0].reshape(-1)
        times.append(time.perf_counter() - t0)
        sf.write(os.path.join(d, f"{i:03d}.wav"), audio, 24000, subtype="PCM_16")
    return times


def synth_espeak(sents, d):
    times = []
    for i, t in enumerate(sents):
        t0 = time.perf_counter()
        subprocess.run(["espeak-ng", "-v", "ko", "-w", os.path.join(d, f"{i:03d}.wav"), t], check=True,
                       capture_output=True)
        times.append(time.perf_counter() - t0)
    return times


def transcribe(d, n, whisper):
    r = subprocess.run([SORI, "transcribe", "--model", whisper, "--language",
                        "ko", "--no-fallback", "--threads", "2", "--format", "tsv", d], capture_output=True, text=True)
    hyp = [""] * n
    for line in r.stdout.splitlines():
        p = line.split("\t", 1)
        m = re.search(r"(\d{3})\.wav$", p[0])
        if m and int(m.group(1)) < n:
            hyp[int(m.group(1))] = p[1] if len(p) > 1 else ""
    return hyp


def main():
    global SORI
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--systems", default="sori,ort,espeak")
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--onnx")
    ap.add_argument("--voices")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--whisper", default=os.path.join(ROOT, "data", "whisper-base-f16.gguf"))
    ap.add_argument("--out", default="/tmp/eval-tts")
    ap.add_argument("--json", help="write the per-sentence results here")
    ap.add_argument("--split", default="test", choices=["test", "dev"],
                    help="the corpus bucket: test (the reported numbers) or dev (for choosing settings)")
    ap.add_argument("--speed", type=float, default=1.0, help="speaking rate (sori say --rate, Kokoro's speed)")
    ap.add_argument("--ipa-sub", default="",
                    help="ort only: replacements in sori's IPA before the ids, 'a=b,c=d' (to try mappings)")
    ap.add_argument("--reuse", action="store_true",
                    help="keep a system's WAVs already in --out (all N of them) instead of making them again")
    ap.add_argument("--sori", help="the sori executable (default build/bin/sori; a copy if the tree is rebuilt)")
    a = ap.parse_args()
    SORI = a.sori or SORI
    sents = sentences(a.n, a.split)
    subs = [tuple(x.split("=", 1)) for x in a.ipa_sub.split(",") if x]
    refs = [hangul(t) for t in sori_lines(["text", "normalize"], sents)]
    report = {"n": len(sents), "voice": a.voice, "systems": {}}
    for system in a.systems.split(","):
        d = os.path.join(a.out, f"{system}-{a.voice}" if system != "espeak" else system)
        os.makedirs(d, exist_ok=True)
        have = all(os.path.exists(os.path.join(d, f"{i:03d}.wav")) for i in range(len(sents)))
        if a.reuse and have:
            times = [0.0]  # not made in this run
        elif system == "sori":
            times = synth_sori(sents, d, a.voice, a.speed)
        elif system == "ort":
            times = synth_ort(sents, d, a.voice, a.onnx, a.voices, a.threads, a.speed, subs)
        elif system == "espeak":
            times = synth_espeak(sents, d)
        else:
            sys.exit(f"unknown system {system}")
        hyp_raw = transcribe(d, len(sents), a.whisper)
        hyps = [hangul(h) for h in sori_lines(["text", "normalize"], [h.replace("\n", " ") for h in hyp_raw])]
        errs = [edit_distance(r, h) for r, h in zip(refs, hyps)]
        cer_all = sum(errs) / max(1, sum(len(r) for r in refs))
        nd = len(sents) // 3
        cer_plain = sum(errs[:-nd]) / max(1, sum(len(r) for r in refs[:-nd]))
        cer_digits = sum(errs[-nd:]) / max(1, sum(len(r) for r in refs[-nd:]))
        exact = sum(e == 0 for e in errs)
        # each sentence's errors bounded by its length: a recognizer's repetition loop on one clip
        # otherwise adds hundreds of insertions
        capped = sum(min(e, len(r)) for e, r in zip(errs, refs)) / max(1, sum(len(r) for r in refs))
        report["systems"][system] = {"cer": cer_all, "cer_capped": capped, "cer_plain": cer_plain,
                                     "cer_digits": cer_digits,
                                     "exact": exact, "synth_s_median": sorted(times)[len(times) // 2],
                                     "rows": [{"text": t, "hyp": h, "errors": e} for t, h, e in
                                              zip(sents, hyp_raw, errs)]}
        print(f"{system:7s} CER {100 * cer_all:5.1f} %  capped {100 * capped:5.1f} %  (no digits {100 * cer_plain:5.1f} %, "
              f"with digits {100 * cer_digits:5.1f} %)  exact {exact}/{len(sents)}", flush=True)
    if a.json:
        with open(a.json, "w", encoding="utf-8") as f:
            json.dump(report, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
