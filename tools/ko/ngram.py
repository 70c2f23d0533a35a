#!/usr/bin/env python3
"""A token n-gram language model for CTC beam search, as an ARPA or GGUF file.

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

--boundary ▁ (what sori bundles, GGUF only) makes it a word-boundary model: two
back-off weights per context, one for word-start pieces and </s>, one for the
pieces that go on a word, with each context's reserved mass shared between the
two as its own seen followers are (Model's docstring; docs/model-format.md).
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
    """prob[n][g]: p(g[-1] | g[:-1]) for the kept n-grams; bow[h]: back-off weight of context h.

    With `boundary` (the word-start mark of the pieces, "▁"), the words fall into two classes:
    those that begin a word (and </s>), and those that go on the word before them. Each context
    then has a back-off weight per class (bow for continuations, bow_ws for word starts), and the
    probability mass a context reserves for unseen words is shared between the classes as the
    context's own seen words are (the distinct word-start vs continuation words after it, plus
    `gamma` times the lower order's share), instead of as the lower order's distribution is. A
    piece such as ▁있 is almost always followed by the rest of its word: the plain model
    lets any word start follow it at the unigram's rate, which the CTC beam search turns into
    stutters (▁있 ▁있습니다); this one does not."""

    def __init__(self, counts, order, vocab, cutoffs, boundary=None, gamma=1.0):
        kn = kn_counts(counts, order)
        self.order = order
        self.boundary = boundary
        self.D = [None] + [discount(kn[n]) for n in range(1, order + 1)]
        words = [w for w in vocab if w != "<s>"]
        tot = sum(kn[1].values())
        seen = sum(1 for w in words if kn[1].get((w,), 0) > 0)
        d = self.D[1]
        self.prob = [None, {(w,): max(kn[1].get((w,), 0) - d, 0) / tot + d * seen / tot / len(words)
                            for w in words}]
        self.bow = {}
        self.bow_ws = {} if boundary else None
        ncls = 2 if boundary else 1
        # with the classes: the mass p(. | h) gives each class, per estimated context (class_mass)
        self.mass = {(): [sum(v for g, v in self.prob[1].items() if self.cls(g[0]) == k) for k in range(2)]} \
            if boundary else None
        for n in range(2, order + 1):
            ctx_tot = collections.Counter()
            ctx_types = collections.defaultdict(lambda: [0] * ncls)
            ctx_disc = collections.defaultdict(lambda: [0.0] * ncls)  # sum of max(c - D, 0) per class
            for g, v in kn[n].items():
                k = self.cls(g[-1])
                ctx_tot[g[:-1]] += v
                ctx_types[g[:-1]][k] += 1
                ctx_disc[g[:-1]][k] += max(v - self.D[n], 0)
            # the reserved mass D * types / tot of each context, per class: share[h][k] of it goes to
            # class k, spread over the class as the lower order spreads it (p_lower / its class mass)
            share = {}
            for h, ty in ctx_types.items():
                low = self.class_mass(h[1:])
                t = sum(ty)
                share[h] = [(ty[k] + gamma * low[k]) / (t + gamma) / max(low[k], 1e-12) if boundary else 1.0
                            for k in range(ncls)]
            p = {}
            for g, v in kn[n].items():
                if counts[n][g] < cutoffs[n - 1]:
                    continue  # pruned (raw counts: a kept n-gram's prefix and suffix are kept too)
                h = g[:-1]
                k = self.cls(g[-1])
                p[g] = (max(v - self.D[n], 0) + self.D[n] * sum(ctx_types[h]) * share[h][k] * self.p(g[1:])) \
                    / ctx_tot[h]
            self.prob.append(p)
            # the contexts' back-off weights: what the kept words leave (of the class), over what the
            # lower order gives the class's other words, so that every p(. | h) sums to one
            kept = collections.defaultdict(lambda: [0.0] * ncls)
            lower = collections.defaultdict(lambda: [0.0] * ncls)
            for g, v in p.items():
                k = self.cls(g[-1])
                kept[g[:-1]][k] += v
                lower[g[:-1]][k] += self.p(g[1:])
            for h in kept:
                low = self.class_mass(h[1:])
                t = sum(ctx_types[h])
                target = [(ctx_disc[h][k] + self.D[n] * t * share[h][k] * low[k]) / ctx_tot[h]
                          for k in range(ncls)] if boundary else [1.0]
                b = [max(target[k] - kept[h][k], 1e-9) / max(low[k] - lower[h][k], 1e-9) for k in range(ncls)]
                self.bow[h] = b[0]
                if boundary:
                    self.bow_ws[h] = b[1]
                    self.mass[h] = target  # p(. | h) gives class k exactly this mass

    def cls(self, w):
        """1 for a word start (and </s>) when the classes are on, else 0."""
        return 1 if self.boundary and (w == "</s>" or w.startswith(self.boundary)) else 0

    def class_mass(self, h):
        """The mass p(. | h) gives each class (the nearest estimated context's)."""
        if not self.boundary:
            return [1.0]
        while h not in self.mass:
            h = h[1:]
        return self.mass[h]

    def p(self, g):
        """p(g[-1] | g[:-1]) with back-off, from the orders estimated so far."""
        n = len(g)
        if n < len(self.prob) and g in self.prob[n]:
            return self.prob[n][g]
        if n == 1:
            return self.prob[1][("<unk>",)]
        b = self.bow_ws if self.cls(g[-1]) else self.bow
        return b.get(g[:-1], 1.0) * self.p(g[1:])

    def write_arpa(self, path):
        if self.boundary:
            sys.exit("ngram.py: ARPA has one back-off weight per context: a --boundary model is GGUF only")
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
                if self.boundary:
                    tensors[f"ngram.{n}.bow_ws"] = np.array([math.log10(self.bow_ws.get(g, 1.0)) for g in grams],
                                                            np.float32)
        meta = {"order": self.order, "vocab": list(vocab), "general.name": "ko-tokens-lm",
                "general.description": card}
        if self.boundary:
            meta["boundary"] = self.boundary
        if weight is not None:
            meta["asr_weight"] = float(weight)
            meta["asr_bonus"] = float(bonus)
        write_model(path, "sori.ngram", meta, tensors)


def gguf_to_arpa(src, dst, drop_word_classes=False):
    """An n-gram GGUF file (write_gguf's) back to ARPA text, for tools that read ARPA (KenLM).
    A word-boundary model is refused unless drop_word_classes: then the ARPA keeps only the
    continuation back-off weights (an approximation, for timing a peer on the same n-grams)."""
    import gguf
    r = gguf.GGUFReader(src)
    vocab = r.fields["sori.ngram.vocab"].contents()
    order = int(r.fields["sori.ngram.order"].contents())
    t = {x.name: x.data for x in r.tensors}
    if "ngram.1.bow_ws" in t and not drop_word_classes:
        sys.exit(f"ngram.py: {src} has word-boundary back-off weights, which ARPA cannot hold")
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
    ap.add_argument("--boundary", help="word-start mark of the pieces (\u2581): one back-off weight per "
                    "class (word start / continuation) and context; GGUF output only")
    ap.add_argument("--gamma", type=float, default=1.0, help="with --boundary: the lower order's weight in "
                    "sharing a context's reserved mass between the classes")
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
    m = Model(counts, a.order, vocab, cut, a.boundary, a.gamma)
    for path in (a.out, a.gguf):
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if a.out:
        m.write_arpa(a.out)
    if a.gguf:
        kind = (f"interpolated Kneser-Ney, word-boundary classes (gamma {a.gamma}), count cutoffs {a.cutoffs}"
                if a.boundary else f"interpolated Kneser-Ney, count cutoffs {a.cutoffs}")
        card = (f"Token {a.order}-gram LM ({kind}) over the "
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
