#!/usr/bin/env python3
"""Abusive-speech detection through the product: runs `sori text moderate`
on every held-out test split tools/moderate/prepare.py wrote and on APEACH,
reports the macro-F1 (abusive or not, as the source labels it) from the C
program's own output, and times it: the latency per utterance is the time of
a run over many lines less that of a one-line run (process start and model
load), divided by the lines.

    python3 bench/eval_moderate.py --data /tmp/moderate/data [--sori build/bin/sori] [--model FILE]
"""
import argparse
import os
import subprocess
import sys
import time

SOURCES = ["kocohub", "hatescore", "kote", "threats", "apeach"]


def read(path):
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f]


def gold(name, row):
    text, cats, src = row
    if name == "kocohub":
        return not src.startswith("none/")
    if name == "hatescore":
        return not src.startswith("Clean/")
    if name == "apeach":
        return src == "Spoiled"
    return ("threat" if name == "threats" else "insult") in cats.split(",")


def f1(tp, fp, fn):
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def macro_f1(y, p):
    tp = sum(a and b for a, b in zip(y, p))
    fp = sum(b and not a for a, b in zip(y, p))
    fn = sum(a and not b for a, b in zip(y, p))
    tn = len(y) - tp - fp - fn
    return (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2


def run(cmd, text):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, input=text.encode(), capture_output=True, check=False).stdout.decode()
    return out, time.perf_counter() - t0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--sori", default=os.path.join(here, "..", "build", "bin", "sori"))
    ap.add_argument("--model", default=None)
    ap.add_argument("--lines", type=int, default=200000, help="lines in the timed run")
    a = ap.parse_args()
    cmd = [a.sori, "text", "moderate"] + (["--model", a.model] if a.model else [])

    every = []
    print("| set | texts | abusive | macro-F1 (binary) | F1 abusive |")
    print("|---|---|---|---|---|")
    for name in SOURCES:
        rows = read(f"{a.data}/{name}.test.tsv")
        out, _ = run(cmd, "".join(r[0] + "\n" for r in rows))
        labels = [line.split("\t")[0] for line in out.splitlines()]
        assert len(labels) == len(rows), f"{name}: {len(labels)} output lines for {len(rows)} inputs"
        y = [gold(name, r) for r in rows]
        p = [lab != "ok" for lab in labels]
        tp = sum(a and b for a, b in zip(y, p))
        print(f"| {name} | {len(rows)} | {sum(y)} | {macro_f1(y, p):.4f} | "
              f"{f1(tp, sum(b and not a for a, b in zip(y, p)), sum(a and not b for a, b in zip(y, p))):.4f} |")
        every += [r[0] for r in rows]

    lines = (every * (a.lines // len(every) + 1))[:a.lines]
    text = "".join(t + "\n" for t in lines)
    chars = sum(len(t) for t in lines) / len(lines)
    _, t1 = min((run(cmd, lines[0] + "\n") for _ in range(3)), key=lambda x: x[1])
    _, tn = min((run(cmd, text) for _ in range(3)), key=lambda x: x[1])
    us = (tn - t1) / len(lines) * 1e6
    print(f"\nlatency: {us:.2f} us per utterance ({len(lines)} lines, {chars:.0f} characters on average; "
          f"process start and model load {t1 * 1e3:.0f} ms; best of 3)", file=sys.stdout)


if __name__ == "__main__":
    main()
