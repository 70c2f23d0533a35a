#!/usr/bin/env python3
"""What hotwords do for sori's beam search, measured through the C engine.

    python3 tools/ko/eval_hotwords.py --model M.gguf --lm LM.gguf --work DIR [--split dev|test]

Synthetic speech of the split's sentences (held-out voices; clean 16 kHz and
8 kHz mu-law, as eval.py/tune_lm.py make them) is cut in two halves. From
each sentence of half A its rarest word (fewest occurrences in the training
sentences, at least two syllables) goes into one hotword list, as a call
center would list the names and products of its calls; half B's sentences
contain none of them (a phrase of the list found in B's reference is left
out). Every file is decoded with the list at each score, and without it:

  recall A   the share of A's sentences whose listed word appears in the
             transcript (spaces ignored), i.e. how often the biasing helps
  CER A / B  character error rates of both halves: B shows what a list of
             phrases a call does not contain costs
  false B    listed phrases that appear in B's transcripts but not in B's
             references (insertions the list caused)
  time       wall time of the whole decode (one sori process per 200 files)

Choose the default score on --split dev; report on --split test.
"""
import argparse
import collections
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from eval import norm, score, synthetic_set, transcribe  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def hangul(ch):
    return "\uac00" <= ch <= "\ud7a3"


def word_counts(train_tsv):
    c = collections.Counter()
    with open(train_tsv, encoding="utf-8") as f:
        for line in f:
            text = line.rstrip("\n").split("\t")[-1]
            c.update(norm(text, True).split())
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--lm", default=None, help="the LM (default: decode with the model's greedy search + hotwords)")
    ap.add_argument("--work", required=True)
    ap.add_argument("--sori", default=os.path.join(HERE, "..", "..", "build", "bin", "sori"))
    ap.add_argument("--split", default="dev", choices=("dev", "test"))
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--scores", default="0.5,1,1.5,2,3")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    counts = word_counts(os.path.join(a.work, "text", "train.tsv"))
    lm = ["--lm", a.lm] if a.lm else ["--lm", "none"]
    for ch in ("clean", "phone"):
        rows = synthetic_set(a.work, ch, a.count, split=a.split)[0]
        half_a, half_b = rows[0::2], rows[1::2]
        targets = {}
        for path, ref in half_a:
            words = [w for w in norm(ref, True).split() if sum(map(hangul, w)) >= 2 and all(map(hangul, w))]
            if words:
                targets[path] = min(words, key=lambda w: (counts[w], -len(w)))
        b_refs = [norm(ref, False) for _, ref in half_b]
        phrases = sorted({w for w in targets.values() if not any(w in r for r in b_refs)})
        targets = {p: w for p, w in targets.items() if w in phrases}
        listing = os.path.join(a.work, "eval", f"hotwords-{a.split}-{ch}.txt")
        with open(listing, "w", encoding="utf-8") as f:
            f.write("".join(w + "\n" for w in phrases))
        files = [p for p, _ in rows]
        print(f"{a.split} {ch}: {len(rows)} sentences, {len(phrases)} hotwords "
              f"(e.g. {', '.join(phrases[:5])})", flush=True)
        print(f"  {'score':>6} {'recall A':>9} {'CER A':>7} {'CER B':>7} {'false B':>8} {'time s':>7}")
        for s in ["none"] + a.scores.split(","):
            extra = lm + ([] if s == "none" else ["--hotwords", listing, "--hotword-score", s])
            hyps, wall = transcribe(a.sori, a.model, files, a.threads, extra=extra)
            hit = sum(1 for p, w in targets.items() if w in norm(hyps.get(p, ""), False))
            cer_a = score([(ref, hyps.get(p, "")) for p, ref in half_a])["cer"]
            cer_b = score([(ref, hyps.get(p, "")) for p, ref in half_b])["cer"]
            false_b = sum(1 for (p, ref) in half_b for w in phrases
                          if w in norm(hyps.get(p, ""), False) and w not in norm(ref, False))
            print(f"  {s:>6} {hit / max(len(targets), 1):9.1%} {cer_a:7.2%} {cer_b:7.2%} {false_b:8d} {wall:7.1f}",
                  flush=True)


if __name__ == "__main__":
    main()
