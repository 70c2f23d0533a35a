#!/usr/bin/env python3
"""sori's text normalization beside NeMo's own Korean grammars, on corpus sentences with digits.

    pip install nemo-text-processing   # brings pynini; not needed by sori or CI
    python3 bench/eval_tn.py [--sori build/bin/sori] [--n 2000] [--seed 1] [--diffs OUT.tsv]

Takes N sentences that contain a digit from ../shared/data/text/ko_corpus.tsv.xz (a seeded
sample), normalizes each with `sori text normalize --zero yeong` (NeMo's convention for zeros
read one by one) in one process, and with nemo_text_processing's Korean Normalizer
(input_case "cased", its grammars compiled once before timing), then reports:
  - how many outputs are equal, and equal once spaces are ignored (NeMo puts a space between a
    number and a particle or unit: "3 개", "세시 삼십분 에");
  - the speed of each (sentences per second; sori's process start included, NeMo's grammar
    compilation excluded);
  - with --diffs, every differing sentence (input, sori, NeMo) as TSV, for judging by hand.
"""
import argparse
import lzma
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SENT = re.compile(r"(?<=[.?!])\s+|[\r\n]+")


def corpus_path():
    for up in (("..", ".."), ("..",)):
        p = os.path.join(HERE, *up, "shared", "data", "text", "ko_corpus.tsv.xz")
        if os.path.exists(p):
            return p
    sys.exit("ko_corpus.tsv.xz not found under ../shared/data/text")


def sample(n, seed):
    rows = []
    with lzma.open(corpus_path(), "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            for s in SENT.split(parts[2]):
                s = s.strip()
                if re.search(r"[0-9]", s) and re.search(r"[\uac00-\ud7a3]", s) and 5 <= len(s) <= 200:
                    rows.append(s)
    rng = random.Random(seed)
    return rng.sample(rows, min(n, len(rows)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sori", default=os.path.join(HERE, "..", "build", "bin", "sori"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--diffs")
    a = ap.parse_args()
    sents = sample(a.n, a.seed)
    print(f"{len(sents)} corpus sentences with digits (seed {a.seed})", flush=True)

    data = ("\n".join(sents) + "\n").encode()
    t0 = time.perf_counter()
    out = subprocess.run([a.sori, "text", "normalize", "--zero", "yeong"], input=data, capture_output=True, check=True)
    t_sori = time.perf_counter() - t0
    ours = out.stdout.decode().split("\n")[:-1]
    assert len(ours) == len(sents), (len(ours), len(sents))

    from nemo_text_processing.text_normalization.normalize import Normalizer
    nemo = Normalizer(input_case="cased", lang="ko", cache_dir="/tmp/nemo_tn_cache")
    nemo.normalize("1", verbose=False)  # grammars compiled and loaded before timing
    theirs = []
    t0 = time.perf_counter()
    for s in sents:
        try:
            theirs.append(nemo.normalize(s, verbose=False))
        except Exception as e:  # NeMo refuses some inputs
            theirs.append(f"<NeMo error: {type(e).__name__}>")
    t_nemo = time.perf_counter() - t0

    same = sum(x == y for x, y in zip(ours, theirs))
    nospace = sum(x.replace(" ", "") == y.replace(" ", "") for x, y in zip(ours, theirs))
    errors = sum(y.startswith("<NeMo error") for y in theirs)
    digits_left = [sum(bool(re.search(r"[0-9]", x)) for x in side) for side in (ours, theirs)]
    n = len(sents)
    print(f"equal: {same} of {n} ({100 * same / n:.1f} %); equal with spaces ignored: {nospace} "
          f"({100 * nospace / n:.1f} %); NeMo raised on {errors}")
    print(f"outputs still holding digits: sori {digits_left[0]}, NeMo {digits_left[1]} (NeMo gives a sentence back "
          f"unchanged when its grammar fails on it)")
    print(f"speed: sori {n / t_sori:,.0f} sentences/s ({t_sori:.2f} s, process included), "
          f"NeMo {n / t_nemo:,.1f} sentences/s ({t_nemo:.1f} s): sori {t_nemo / t_sori:,.0f}x")
    if a.diffs:
        with open(a.diffs, "w", encoding="utf-8") as f:
            f.write("input\tsori\tnemo\n")
            for s, x, y in zip(sents, ours, theirs):
                if x.replace(" ", "") != y.replace(" ", ""):
                    f.write(f"{s}\t{x}\t{y}\n")
        print(f"differences (spaces ignored) written to {a.diffs}")


if __name__ == "__main__":
    main()
