#!/usr/bin/env python3
"""Fixtures of tests/test_ngram.c: a small word trigram LM (tools/ko/ngram.py, from the first
sentences of the Korean training split) as ARPA and GGUF, and reference scores of sentences by
KenLM (the upstream ARPA implementation) on the ARPA file.

    python3 tools/gen_ngram_fixtures.py --text WORK/text/train.tsv --dev WORK/text/dev.tsv \
        --out tests/fixtures/ngram

scores.tsv: one sentence a line, its words separated by spaces, a tab, and the log10 probability
of every word and of </s> (comma-separated) as kenlm.Model.full_scores gives them (<s> first).
Needs kenlm (tools/requirements-reference.txt).
"""
import argparse
import os
import sys

import kenlm

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "ko"))
import ngram  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--sentences", type=int, default=150)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    sents, vocab = ngram.read_sentences(a.text, None, a.sentences)
    vocab = vocab + ["<s>", "</s>"]
    m = ngram.Model(ngram.count(sents, 3), 3, vocab, [1, 1, 1])
    arpa, gguf = os.path.join(a.out, "small.arpa"), os.path.join(a.out, "small.gguf")
    m.write_arpa(arpa)
    m.write_gguf(gguf, vocab, 0.4, 1.5, "test fixture: word trigram LM of 150 training sentences")
    ref = kenlm.Model(arpa)
    dev, _ = ngram.read_sentences(a.dev, None, 15)
    with open(os.path.join(a.out, "scores.tsv"), "w", encoding="utf-8") as f:
        for s in list(sents[:15]) + list(dev):  # seen sentences, and unseen ones with unknown words
            text = " ".join(s)
            lps = [lp for lp, _, _ in ref.full_scores(text, bos=True, eos=True)]
            f.write(text + "\t" + ",".join(f"{v:.6f}" for v in lps) + "\n")
    print(f"{arpa}: {', '.join(f'{len(m.prob[n])} {n}-grams' for n in range(1, 4))}")
    word_boundary(sents, dev, a.out)


def pieces(sent):
    """Words as pieces the way SentencePiece marks them: the first syllable with the word-start
    mark, each further syllable a piece of its own."""
    return tuple(p for w in sent for p in ["\u2581" + w[0]] + list(w[1:]))


def word_boundary(sents, dev, out):
    """small_ws.gguf: a trigram LM over such pieces with word-boundary back-off (ngram.py
    --boundary; pruned with cutoffs 1,1,2), and scores_ws.tsv: the estimator's own log10 p of each
    piece of seen and unseen sentences (ARPA cannot hold this model, so KenLM cannot score it)."""
    import math
    ps = [pieces(s) for s in sents]
    vocab = ["<unk>"] + sorted({p for s in ps for p in s}) + ["<s>", "</s>"]
    m = ngram.Model(ngram.count(ps, 3), 3, vocab, [1, 1, 2], "\u2581", 1.0)
    m.write_gguf(os.path.join(out, "small_ws.gguf"), vocab, 0.4, 1.5,
                 "test fixture: piece trigram LM with word-boundary back-off")
    known = set(vocab)
    with open(os.path.join(out, "scores_ws.tsv"), "w", encoding="utf-8") as f:
        for s in ps[:15] + [pieces(s) for s in dev]:
            w = ("<s>",) + tuple(p if p in known else "<unk>" for p in s) + ("</s>",)
            lps = [math.log10(m.p(w[max(0, i - 2):i + 1])) for i in range(1, len(w))]
            f.write(" ".join(s) + "\t" + ",".join(f"{v:.6f}" for v in lps) + "\n")
    print(f"small_ws.gguf: {', '.join(f'{len(m.prob[n])} {n}-grams' for n in range(1, 4))}")


if __name__ == "__main__":
    main()
