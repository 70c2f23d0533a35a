#!/usr/bin/env python3
"""Standard pronunciation: sori's G2P (`sori text g2p`) against g2pkk, same words, one run.

    pip install -r tools/ko/requirements.txt       # g2pkk, python-mecab-ko
    python3 bench/eval_g2p.py [--sori build/bin/sori] [--out FILE] [--repeat 20]

Sets (evaluation only; nothing is tuned on them):
  kog2p   ../shared/data/ko_lang/scarletcho__KoG2P/testset.txt: 475 words and their standard
          pronunciation in Hangul (GPL-3.0: read here, never copied into the project);
  idioms  ../shared/data/ko_lang/Kyubyong__g2pK/g2pk/idioms.txt: g2pK's exceptions, `word===said`
          lines without regular-expression syntax (the cases its rules alone get wrong).
Accuracy: the share of items whose pronunciation equals the reference exactly, spaces aside (KoG2P
writes its phrases, 옷 한 벌 → 오탄벌, without them; both programs keep the input's). Speed: words per
second over the whole set, sori as one process reading standard input (process start included),
g2pkk in this process (its load excluded); medians of --repeat runs.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "ko_lang")


def kog2p():
    rows = []
    with open(os.path.join(DATA, "scarletcho__KoG2P", "testset.txt"), encoding="utf-8") as f:
        for line in f:
            p = line.strip().split("\t")
            if len(p) == 2:
                rows.append((p[0].strip(), p[1].strip()))
    return rows


def idioms():
    rows = []
    with open(os.path.join(DATA, "Kyubyong__g2pK", "g2pk", "idioms.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if "===" not in line:
                continue
            a, b = line.split("===", 1)
            if re.search(r"[\\\[\]\(\)\|\*\+\?\.\^\$/]", a + b):
                continue
            rows.append((a.strip(), b.strip()))
    return rows


def g2pkk():
    import nltk
    nltk.data.find = lambda *a, **k: True  # English words are not in these sets: no CMU dictionary
    nltk.corpus.cmudict = types.SimpleNamespace(dict=lambda: {})
    from g2pkk import G2p
    return G2p()


def run_sori(sori, words):
    t0 = time.perf_counter()
    r = subprocess.run([sori, "text", "g2p"], input="\n".join(words) + "\n", capture_output=True, text=True)
    dt = time.perf_counter() - t0
    out = r.stdout.split("\n")[:len(words)]
    if len(out) != len(words):
        sys.exit(f"sori text g2p gave {len(out)} lines for {len(words)}: {r.stderr[-300:]}")
    return out, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--out")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--show", type=int, default=0, help="print this many of sori's misses per set")
    args = ap.parse_args()
    g = g2pkk()
    res = {"load1": os.getloadavg()[0]}
    for name, rows in (("kog2p", kog2p()), ("idioms", idioms())):
        words = [w for w, _ in rows]
        so, _ = run_sori(args.sori, words)
        go = [g(w) for w in words]
        ts = statistics.median(run_sori(args.sori, words)[1] for _ in range(args.repeat))
        tg = []
        for _ in range(max(1, args.repeat // 10)):
            t0 = time.perf_counter()
            for w in words:
                g(w)
            tg.append(time.perf_counter() - t0)
        tg = statistics.median(tg)
        def same(a, b):
            return a.replace(" ", "") == b.replace(" ", "")
        acc_s = sum(same(a, b) for a, (_, b) in zip(so, rows)) / len(rows)
        acc_g = sum(same(a, b) for a, (_, b) in zip(go, rows)) / len(rows)
        res[name] = {"words": len(rows), "sori": acc_s, "g2pkk": acc_g, "sori_words_per_s": len(rows) / ts,
                     "g2pkk_words_per_s": len(rows) / tg}
        print(f"{name}: {len(rows)} words: sori {100 * acc_s:.1f} %, g2pkk {100 * acc_g:.1f} % exact; "
              f"{len(rows) / ts:,.0f} vs {len(rows) / tg:,.0f} words/s ({tg / ts:.0f}x)")
        shown = 0
        for (w, ref), a, b in zip(rows, so, go):
            if not same(a, ref) and shown < args.show:
                print(f"  {w}\tref {ref}\tsori {a}\tg2pkk {b}")
                shown += 1
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
