#!/usr/bin/env python3
"""A token n-gram language model for CTC beam search, as an ARPA file.

    python3 tools/ko/ngram.py --text DIR/text/train.tsv --tok DIR/tok/tokenizer.model \
        --order 4 --cutoffs 1,1,2,2 --out DIR/lm/ko-tokens.arpa

The "words" of the ARPA file are the acoustic model's SentencePiece pieces
(e.g. `▁영화`), so the LM scores exactly the units the CTC head emits and needs
no lexicon; sori maps them to the model's token ids when it loads the file.
Estimation: interpolated Kneser-Ney (Chen & Goodman) with one absolute discount
per order, D = n1 / (n1 + 2 n2) from the count-of-counts; lower orders use
continuation counts (distinct left contexts). Count cutoffs prune rare n-grams
after the discounts are estimated, and the back-off weights are then computed
so that every context's distribution sums to one over the vocabulary (as SRILM
renormalizes a pruned model). Trained on the training split only (the dev and
test sentences are held out by text.py's split).
"""
import argparse
import collections
import math
import os
import sys
import time


def read_sentences(path, tok=None, limit=0):
    """Sentences as tuples of SentencePiece pieces (tok: the model), or of whitespace-separated
    words without one; and the vocabulary (the model's pieces, or the words seen and <unk>)."""
    sp = None
    if tok:
        import sentencepiece as spm
        sp = spm.SentencePieceProcessor(model_file=tok)
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text = line.rstrip("\n").split("\t")[-1]
            if text:
                out.append(tuple(sp.encode(text, out_type=str)) if sp else tuple(text.split()))
            if limit and len(out) >= limit:
                break
    if sp:
        return out, [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    return out, ["<unk>"] + sorted({w for s in out for w in s} - {"<unk>"})


def count(sents, order):
    """Raw counts[n][ngram], n = 1..order, over <s> w1 .. wk </s> (<s> is never predicted)."""
    counts = [None] + [collections.Counter() for _ in range(order)]
    for s in sents:
        w = ("<s>",) + s + ("</s>",)
        for n in range(1, order + 1):
            c = counts[n]
            for i in range(1 if n == 1 else 0, len(w) - n + 1):
                c[w[i:i + n]] += 1
    counts[1][("<s>",)] = 0
    return counts


def kn_counts(counts, order):
    """Kneser-Ney counts: raw for the highest order and for n-grams that start with <s> (no left
    context exists); the continuation count N1+(. g) (distinct left extensions) below."""
    kn = [None] * (order + 1)
    kn[order] = counts[order]
    for n in range(order - 1, 0, -1):
        c = collections.Counter()
        for g in counts[n + 1]:
            if g[1:] in counts[n] and g[1] != "<s>":
                c[g[1:]] += 1
        for g, v in counts[n].items():
            if g[0] == "<s>":
                c[g] = v
        kn[n] = c
    return kn


def discount(c):
    coc = collections.Counter(v for v in c.values() if v <= 2)
    n1, n2 = coc[1], coc[2]
    return n1 / (n1 + 2 * n2) if n1 and n2 else 0.5


class Model:
    """prob[n][g]: p(g[-1] | g[:-1]) for the kept n-grams; bow[h]: back-off weight of context h."""

    def __init__(self, counts, order, vocab, cutoffs):
        kn = kn_counts(counts, order)
        self.order = order
        self.D = [None] + [discount(kn[n]) for n in range(1, order + 1)]
        words = [w for w in vocab if w != "<s>"]
        tot = sum(kn[1].values())
        seen = sum(1 for w in words if kn[1].get((w,), 0) > 0)
        d = self.D[1]
        self.prob = [None, {(w,): max(kn[1].get((w,), 0) - d, 0) / tot + d * seen / tot / len(words)
                            for w in words}]
        self.bow = {}
        for n in range(2, order + 1):
            ctx_tot = collections.Counter()
            ctx_types = collections.Counter()
            for g, v in kn[n].items():
                ctx_tot[g[:-1]] += v
                ctx_types[g[:-1]] += 1
            p = {}
            for g, v in kn[n].items():
                if counts[n][g] < cutoffs[n - 1]:
                    continue  # pruned (raw counts: a kept n-gram's prefix and suffix are kept too)
                h = g[:-1]
                p[g] = (max(v - self.D[n], 0) + self.D[n] * ctx_types[h] * self.p(g[1:])) / ctx_tot[h]
            self.prob.append(p)
            # the contexts' back-off weights: what the kept words leave, over what the lower order
            # gives the other words, so that every p(. | h) sums to one
            kept = collections.Counter()
            lower = collections.Counter()
            for g, v in p.items():
                kept[g[:-1]] += v
                lower[g[:-1]] += self.p(g[1:])
            for h in kept:
                self.bow[h] = max(1.0 - kept[h], 1e-9) / max(1.0 - lower[h], 1e-9)

    def p(self, g):
        """p(g[-1] | g[:-1]) with back-off, from the orders estimated so far."""
        n = len(g)
        if n < len(self.prob) and g in self.prob[n]:
            return self.prob[n][g]
        if n == 1:
            return self.prob[1][("<unk>",)]
        return self.bow.get(g[:-1], 1.0) * self.p(g[1:])

    def write_arpa(self, path):
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write("\\data\\\n")
            for n in range(1, self.order + 1):
                f.write(f"ngram {n}={len(self.prob[n]) + (n == 1)}\n")
            for n in range(1, self.order + 1):
                f.write(f"\n\\{n}-grams:\n")
                if n == 1:
                    f.write(f"-99\t<s>\t{math.log10(self.bow.get(('<s>',), 1.0)):.6f}\n")
                for g in sorted(self.prob[n]):
                    lp = math.log10(max(self.prob[n][g], 1e-99))
                    if n < self.order and g in self.bow:
                        f.write(f"{lp:.6f}\t{' '.join(g)}\t{math.log10(self.bow[g]):.6f}\n")
                    else:
                        f.write(f"{lp:.6f}\t{' '.join(g)}\n")
            f.write("\n\\end\\\n")
        os.replace(tmp, path)

    def write_gguf(self, path, vocab, weight, bonus, card):
        """The same model as a GGUF file (docs/model-format.md, "n-gram LM"): the words as a string
        array, and per order n the kept n-grams as word ids [count, n], log10 p [count] and, below
        the highest order, log10 back-off weights [count] (0 where an n-gram has none)."""
        import numpy as np
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
        from sori_gguf import write_model
        ids = {w: i for i, w in enumerate(vocab)}
        tensors = {}
        for n in range(1, self.order + 1):
            grams = sorted(self.prob[n]) if n > 1 else [("<s>",)] + sorted(self.prob[1])
            tensors[f"ngram.{n}.words"] = np.array([[ids[w] for w in g] for g in grams], np.int32).reshape(-1, n)
            tensors[f"ngram.{n}.logp"] = np.array(
                [-99.0 if g == ("<s>",) else math.log10(max(self.prob[n][g], 1e-99)) for g in grams], np.float32)
            if n < self.order:
                tensors[f"ngram.{n}.bow"] = np.array([math.log10(self.bow.get(g, 1.0)) for g in grams], np.float32)
        meta = {"order": self.order, "vocab": list(vocab), "general.name": "ko-tokens-lm",
                "general.description": card}
        if weight is not None:
            meta["asr_weight"] = float(weight)
            meta["asr_bonus"] = float(bonus)
        write_model(path, "sori.ngram", meta, tensors)


def gguf_to_arpa(src, dst):
    """An n-gram GGUF file (write_gguf's) back to ARPA text, for tools that read ARPA (KenLM)."""
    import gguf
    r = gguf.GGUFReader(src)
    vocab = r.fields["sori.ngram.vocab"].contents()
    order = int(r.fields["sori.ngram.order"].contents())
    t = {x.name: x.data for x in r.tensors}
    with open(dst, "w", encoding="utf-8") as f:
        f.write("\\data\\\n")
        for n in range(1, order + 1):
            f.write(f"ngram {n}={len(t[f'ngram.{n}.logp'])}\n")
        for n in range(1, order + 1):
            f.write(f"\n\\{n}-grams:\n")
            words, logp = t[f"ngram.{n}.words"].reshape(-1, n), t[f"ngram.{n}.logp"]
            bow = t.get(f"ngram.{n}.bow")
            for i in range(len(logp)):
                g = " ".join(vocab[w] for w in words[i])
                tail = f"\t{bow[i]:.6f}" if bow is not None and bow[i] != 0 else ""
                f.write(f"{logp[i]:.6f}\t{g}{tail}\n")
        f.write("\n\\end\\\n")


def perplexity(model, sents):
    lp = n = 0
    for s in sents:
        w = ("<s>",) + s + ("</s>",)
        for i in range(1, len(w)):
            g = w[max(0, i - model.order + 1):i + 1]
            lp += math.log(model.p(g))
            n += 1
    return math.exp(-lp / max(n, 1)), n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", help="training sentences (TSV, text in the last column)")
    ap.add_argument("--from-gguf", help="instead: convert this n-gram GGUF to ARPA (--out)")
    ap.add_argument("--tok", help="the acoustic model's SentencePiece model (without: whitespace words)")
    ap.add_argument("--order", type=int, default=4)
    ap.add_argument("--cutoffs", default="1,1,2,2", help="minimum raw count per order to keep an n-gram")
    ap.add_argument("--dev", help="sentences to report the perplexity on (e.g. DIR/text/dev.tsv)")
    ap.add_argument("--limit", type=int, default=0, help="read at most this many sentences")
    ap.add_argument("--out", help="ARPA file to write")
    ap.add_argument("--gguf", help="GGUF file to write (what sori bundles)")
    ap.add_argument("--weight", type=float, help="recommended LM weight for CTC beam search, kept in the GGUF")
    ap.add_argument("--bonus", type=float, default=0.0, help="recommended per-token bonus, kept in the GGUF")
    a = ap.parse_args()
    if a.from_gguf:
        if not a.out:
            sys.exit("ngram.py: --from-gguf needs --out FILE.arpa")
        gguf_to_arpa(a.from_gguf, a.out)
        return
    if not a.text:
        sys.exit("ngram.py: --text is required")
    if not a.out and not a.gguf:
        sys.exit("ngram.py: give --out FILE.arpa and/or --gguf FILE.gguf")
    cut = [int(c) for c in a.cutoffs.split(",")]
    if len(cut) != a.order or any(c < 1 for c in cut) or cut != sorted(cut):
        sys.exit("ngram.py: --cutoffs needs one count >= 1 per order, never falling")
    t0 = time.time()
    sents, vocab = read_sentences(a.text, a.tok, a.limit)
    vocab = vocab + ["<s>", "</s>"]
    counts = count(sents, a.order)
    m = Model(counts, a.order, vocab, cut)
    for path in (a.out, a.gguf):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if a.out:
        m.write_arpa(a.out)
    if a.gguf:
        card = (f"Token {a.order}-gram LM (interpolated Kneser-Ney, count cutoffs {a.cutoffs}) over the "
                f"SentencePiece pieces of sori's Korean ASR model, from {len(sents)} training sentences of "
                f"ko_corpus.tsv.xz (tools/ko/ngram.py); licences and sources: docs/model-card-ko.md.")
        m.write_gguf(a.gguf, [w for w in vocab], a.weight, a.bonus, card)
    sizes = ", ".join(f"{len(m.prob[n])} {n}-grams" for n in range(1, a.order + 1))
    print(f"{len(sents)} sentences, {sum(len(s) + 1 for s in sents)} tokens: {sizes}; "
          f"discounts {', '.join(f'{d:.3f}' for d in m.D[1:])}; {time.time() - t0:.0f} s; "
          f"{os.path.getsize(a.gguf or a.out) / 1e6:.1f} MB", flush=True)
    if a.dev:
        dev, _ = read_sentences(a.dev, a.tok)
        ppl, n = perplexity(m, dev)
        print(f"dev perplexity {ppl:.1f} per token over {n} tokens", flush=True)


if __name__ == "__main__":
    main()
