"""The features of sori's abusive-speech classifier, exactly as text/moderate.c
computes them (docs/text.md, "Abusive speech", has the same definition).

A text (Unicode code points) becomes a sequence:
  1. ASCII A-Z are lowercased; ASCII digits become '0'.
  2. Whitespace (U+0009-U+000D, U+0020, U+00A0, U+3000) is a space; runs of
     spaces are one space; spaces at both ends are dropped.
  3. A code point equal to the three before it is dropped (ㅋㅋㅋㅋㅋ -> ㅋㅋㅋ).
  4. If anything is left, one space goes before and after it.
Every window of n code points (n_min <= n <= n_max) of that sequence is an
n-gram; its bucket is FNV-1a (32 bit) over the byte n followed by each code
point as 4 little-endian bytes, masked with n_buckets - 1 (a power of two).
The feature vector counts the n-grams in each bucket and is divided by the
square root of the number of n-grams. Category c's score is
sigmoid(bias[c] + sum_bucket x[bucket] * weight[bucket][c]).
"""
import numpy as np

SPACE = 0x20
WHITESPACE = {0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0xA0, 0x3000}
MAX_RUN = 3
FNV_OFFSET = 2166136261
FNV_PRIME = 16777619


def normalize(text):
    """The code point sequence the n-grams are taken from (a list of ints)."""
    out = []
    pending_space = False
    for ch in text:
        c = ord(ch)
        if c in WHITESPACE:
            pending_space = bool(out)
            continue
        if 0x41 <= c <= 0x5A:
            c += 0x20
        elif 0x30 <= c <= 0x39:
            c = 0x30
        if pending_space:
            out.append(SPACE)
            pending_space = False
        if len(out) >= MAX_RUN and out[-1] == c and out[-2] == c and out[-3] == c:
            continue
        out.append(c)
    if not out:
        return []
    return [SPACE] + out + [SPACE]


def _fnv(n, cps):
    h = FNV_OFFSET
    h = ((h ^ n) * FNV_PRIME) & 0xFFFFFFFF
    for c in cps:
        for k in range(4):
            h = ((h ^ ((c >> (8 * k)) & 0xFF)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def buckets(text, n_min, n_max, n_buckets):
    """The bucket of every n-gram of text, in order (a list of ints)."""
    seq = normalize(text)
    mask = n_buckets - 1
    out = []
    for i in range(len(seq)):
        for n in range(n_min, n_max + 1):
            if i + n > len(seq):
                break
            out.append(_fnv(n, seq[i:i + n]) & mask)
    return out


def matrix(texts, n_min, n_max, n_buckets):
    """A scipy CSR matrix: one row per text, the scaled bucket counts."""
    import scipy.sparse as sp
    indptr = [0]
    indices = []
    data = []
    for t in texts:
        b = buckets(t, n_min, n_max, n_buckets)
        if b:
            u, cnt = np.unique(np.asarray(b, dtype=np.int64), return_counts=True)
            indices.extend(u.tolist())
            data.extend((cnt / np.sqrt(len(b))).tolist())
        indptr.append(len(indices))
    return sp.csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64),
                          np.asarray(indptr, dtype=np.int64)), shape=(len(texts), n_buckets))


def scores(X, weight, bias):
    """Sigmoid scores [n_texts, n_categories] from weight [n_buckets, n_cat]
    (as stored: f16 values widened) and bias [n_cat]."""
    z = X @ weight.astype(np.float64) + bias.astype(np.float64)
    return 1.0 / (1.0 + np.exp(-z))
