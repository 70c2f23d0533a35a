#!/usr/bin/env python3
"""Error rates of a Korean model through the C engine (`sori transcribe`), not PyTorch.

    python3 tools/ko/eval.py --model M.gguf [--lm LM.gguf] --work DIR [--sori build/bin/sori] [--count 300]

Sets:
  synthetic-16k   test sentences spoken by held-out espeak-ng voices (never in
                  training), 16 kHz (tools/ko/synth.py audio --channel clean);
  synthetic-phone the same sentences through a telephone channel: 300-3400 Hz,
                  8 kHz G.711 mu-law files;
  real/<source>   ../shared/data/speech_dev (real human speech: TEDx talks,
                  read speech), per source. Evaluation only: never trained or
                  tuned on.
CER is the character edit distance over the reference length, computed
twice: over characters with spaces and punctuation removed (cer), and with
single spaces kept (cer_spaces). Also the real-time factor of the run
(wall time / audio duration, one process, --threads as given). The synthetic
sets are also decoded through the streaming API (`sori transcribe --stream`:
cache-aware for models trained for it) for the offline-vs-streaming CER.
Every set is decoded greedily (--lm none) and, with --lm, also by the CTC
beam search fused with that n-gram LM (rows marked "+lm").
Writes DIR/eval/results.json and prints a table.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cer import edit_distance  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
KEEP = re.compile(r"[^\uac00-\ud7a3 ]+")


def norm(text, spaces):
    t = " ".join(KEEP.sub(" ", text).split())
    return t if spaces else t.replace(" ", "")


def transcribe(sori, model, files, threads, stream=False, extra=()):
    """path -> text, and the wall time (--stream: through the streaming API; extra: more options)."""
    out = {}
    t0 = time.time()
    for i in range(0, len(files), 200):
        part = files[i:i + 200]
        r = subprocess.run([sori, "transcribe", "--model", model, "--format", "tsv", "--threads", str(threads)]
                           + (["--stream"] if stream else []) + list(extra) + part, capture_output=True, text=True)
        for line in r.stdout.splitlines():
            p, _, text = line.partition("\t")
            out[p] = text
        if r.returncode not in (0, 1):
            sys.exit(f"sori transcribe failed: {r.stderr[-2000:]}")
    return out, time.time() - t0


def duration(path):
    import soundfile as sf
    return sf.info(path).duration


def score(pairs):
    res = {}
    for spaces in (False, True):
        e = n = 0
        for ref, hyp in pairs:
            r, h = norm(ref, spaces), norm(hyp, spaces)
            e += edit_distance(r, h)
            n += len(r)
        res["cer_spaces" if spaces else "cer"] = e / max(n, 1)
    res["utterances"] = len(pairs)
    return res


def synthetic_set(work, channel, count, split="test"):
    """Held-out-voice speech of the split's sentences (made once): WORK/eval/synthetic-CHANNEL for
    the test split, WORK/eval/SPLIT-CHANNEL for another (tune_lm.py uses dev)."""
    out = os.path.join(work, "eval", f"synthetic-{channel}" if split == "test" else f"{split}-{channel}")
    man = os.path.join(out, "manifest.tsv")
    have = sum(1 for _ in open(man, encoding="utf-8")) if os.path.exists(man) else 0
    with open(os.path.join(work, "text", f"{split}.tsv"), encoding="utf-8") as f:
        avail = sum(1 for _ in f)
    if have < min(count, avail):  # clip i depends only on i and the seed: a larger set extends a smaller one
        subprocess.run([sys.executable, "-W", "ignore", os.path.join(HERE, "synth.py"), "audio", "--text",
                        os.path.join(work, "text", f"{split}.tsv"), "--out", out, "--count", str(count),
                        "--channel", channel], check=True)
    rows, voices = [], {}
    with open(man, encoding="utf-8") as f:
        for line in f:
            if len(rows) == count:
                break
            name, text, meta = line.rstrip("\n").split("\t")
            rows.append((os.path.join(out, name), text))
            voices[os.path.join(out, name)] = json.loads(meta).get("voice", "?")
    return rows, voices


def real_sets(shared):
    man = os.path.join(shared, "speech_dev", "manifest.tsv")
    sets = {}
    if not os.path.exists(man):
        return sets
    with open(man, encoding="utf-8") as f:
        next(f)
        for line in f:
            c = line.rstrip("\n").split("\t")
            src = c[5].split("/")[-1].split("-")[0] if "/" in c[5] else c[5]
            sets.setdefault(f"real/{src}", []).append((os.path.join(shared, "speech_dev", c[1]), c[4]))
    return sets


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--shared", default=os.path.join(ROOT, "..", "shared", "data"))
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--lm", help="also decode with the CTC beam search fused with this n-gram LM")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--real-limit", type=int, default=0, help="at most this many clips per real set (0: all)")
    a = ap.parse_args()
    sets, voices = {}, {}
    for name, channel in (("synthetic-16k", "clean"), ("synthetic-phone-8k-ulaw", "phone")):
        sets[name], v = synthetic_set(a.work, channel, a.count)
        voices.update(v)
    if not a.no_real:
        for name, rows in real_sets(a.shared).items():
            sets[name] = rows[:a.real_limit] if a.real_limit else rows
    results = {}
    decoders = [("", ["--lm", "none"])] + ([("+lm", ["--lm", a.lm])] if a.lm else [])
    for (set_name, rows), (suffix, extra) in ((x, d) for x in sets.items() for d in decoders):
        name = set_name + suffix
        hyps, wall = transcribe(a.sori, a.model, [p for p, _ in rows], a.threads, extra=extra)
        audio = sum(duration(p) for p, _ in rows)
        r = score([(ref, hyps.get(p, "")) for p, ref in rows])
        r.update(audio_s=round(audio, 1), wall_s=round(wall, 1), rtf=round(wall / max(audio, 1e-9), 4),
                 examples=[(ref, hyps.get(p, "")) for p, ref in rows[:3]])
        if name.startswith("synthetic"):  # streaming (cache-aware) on the same files
            sh, swall = transcribe(a.sori, a.model, [p for p, _ in rows], a.threads, stream=True, extra=extra)
            rs = score([(ref, sh.get(p, "")) for p, ref in rows])
            r.update(stream_cer=rs["cer"], stream_cer_spaces=rs["cer_spaces"],
                     stream_rtf=round(swall / max(audio, 1e-9), 4))
            per = {}  # per held-out voice: which voices the model has not learned to generalize to
            for p, ref in rows:
                per.setdefault(voices[p], []).append((ref, hyps.get(p, "")))
            r["per_voice_cer"] = {v: round(score(x)["cer"], 4) for v, x in sorted(per.items())}
        results[name] = r
        extra = f"  streaming CER {100 * r['stream_cer']:6.2f}% RTF {r['stream_rtf']:.4f}" if "stream_cer" in r else ""
        print(f"{name:28s} {r['utterances']:5d} utts  CER {100 * r['cer']:6.2f}%  with spaces "
              f"{100 * r['cer_spaces']:6.2f}%  RTF {r['rtf']:.4f} ({a.threads} thread){extra}", flush=True)
        if "per_voice_cer" in r:
            print("    per voice: " + ", ".join(f"{v} {100 * c:.1f}%" for v, c in r["per_voice_cer"].items()),
                  flush=True)
    os.makedirs(os.path.join(a.work, "eval"), exist_ok=True)
    with open(os.path.join(a.work, "eval", "results.json"), "w", encoding="utf-8") as f:
        json.dump({"model": a.model, "lm": a.lm, "results": results}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
