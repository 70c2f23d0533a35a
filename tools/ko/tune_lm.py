#!/usr/bin/env python3
"""Choose the LM weight and per-token bonus of sori's CTC beam search on dev sentences.

    python3 tools/ko/tune_lm.py --model M.gguf --lm LM.gguf --work DIR [--sori build/bin/sori]

Decodes synthetic speech of *dev* sentences (tools/ko/synth.py audio: held-out
voices, clean 16 kHz and 8 kHz mu-law telephone; made once under
DIR/eval/dev-{clean,phone}) through the C engine for every pair of a grid, and
prints the CER of each and the pair with the lowest mean CER over both sets.
The test sentences that eval.py reports on are never used here. Write the
chosen pair into the LM file with `ngram.py ... --weight W --bonus B`.
"""
import argparse
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cer import edit_distance  # noqa: E402
from eval import norm, transcribe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def dev_set(work, channel, count):
    out = os.path.join(work, "eval", f"dev-{channel}")
    if not os.path.exists(os.path.join(out, "manifest.tsv")):
        subprocess.run([sys.executable, "-W", "ignore", os.path.join(HERE, "synth.py"), "audio", "--text",
                        os.path.join(work, "text", "dev.tsv"), "--out", out, "--count", str(count),
                        "--channel", channel], check=True)
    rows = []
    with open(os.path.join(out, "manifest.tsv"), encoding="utf-8") as f:
        for line in f:
            name, text, _ = line.rstrip("\n").split("\t")
            rows.append((os.path.join(out, name), text))
    return rows


def cer(rows, hyps):
    e = n = 0
    for path, ref in rows:
        r, h = norm(ref, False), norm(hyps.get(path, ""), False)
        e += edit_distance(r, h)
        n += len(r)
    return e / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lm", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--sori", default=os.path.join(HERE, "..", "..", "build", "bin", "sori"))
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--weights", default="0.3,0.4,0.5,0.6,0.8")
    ap.add_argument("--bonuses", default="0,1,2,3")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    sets = {ch: dev_set(a.work, ch, a.count) for ch in ("clean", "phone")}
    files = {ch: [p for p, _ in rows] for ch, rows in sets.items()}
    base = {ch: cer(rows, transcribe(a.sori, a.model, files[ch], a.threads, extra=["--lm", "none"])[0])
            for ch, rows in sets.items()}
    print(f"greedy: clean {base['clean']:.4f} phone {base['phone']:.4f}", flush=True)
    best = None
    for w in [float(v) for v in a.weights.split(",")]:
        for b in [float(v) for v in a.bonuses.split(",")]:
            extra = ["--lm", a.lm, "--lm-weight", str(w), "--lm-bonus", str(b)]
            c = {ch: cer(rows, transcribe(a.sori, a.model, files[ch], a.threads, extra=extra)[0])
                 for ch, rows in sets.items()}
            mean = (c["clean"] + c["phone"]) / 2
            print(f"weight {w:.2f} bonus {b:.1f}: clean {c['clean']:.4f} phone {c['phone']:.4f} mean {mean:.4f}",
                  flush=True)
            if best is None or mean < best[0]:
                best = (mean, w, b)
    print(f"best: --weight {best[1]} --bonus {best[2]} (mean dev CER {best[0]:.4f})")


if __name__ == "__main__":
    main()
