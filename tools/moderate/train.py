#!/usr/bin/env python3
"""Trains sori's abusive-speech classifier (hashed character n-grams, one
logistic regression per category) on the splits tools/moderate/prepare.py
wrote, picks the regularization and each category's threshold on the
validation splits only, evaluates on every held-out test split and on
APEACH, and writes the model as GGUF (architecture sori.moderate,
docs/model-format.md).

    python3 tools/moderate/train.py --data /tmp/moderate/data --out data/ko-moderate.gguf \\
        --report /tmp/moderate/report.json

Single-threaded (liblinear). Requires tools/moderate/requirements.txt and
tools/requirements-gguf.txt.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import features  # noqa: E402

CATS = ["profanity", "insult", "threat", "hate"]
# The label of a text is the first of these whose score reaches its threshold.
SEVERITY = ["threat", "hate", "insult", "profanity"]
SOURCES = ["kocohub", "hatescore", "kote", "threats"]


def read(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            text, cats, src = line.rstrip("\n").split("\t")
            rows.append((text, [] if cats == "ok" else cats.split(","), src))
    return rows


def targets(rows):
    return np.array([[1 if c in r[1] else 0 for c in CATS] for r in rows], dtype=np.int8)


def source_abusive(name, rows):
    """The source's own binary gold (abusive or not), lexicon labels aside."""
    if name == "kocohub":
        return np.array([not r[2].startswith("none/") for r in rows])
    if name == "hatescore":
        return np.array([not r[2].startswith("Clean/") for r in rows])
    if name == "kote":
        return np.array(["insult" in r[1] for r in rows])
    if name == "threats":
        return np.array(["threat" in r[1] for r in rows])
    return np.array([r[2] == "Spoiled" for r in rows])


def labels(P, thr):
    """Index into ["ok"] + CATS of each row's label (severity order)."""
    out = np.zeros(len(P), dtype=np.int64)
    for cat in reversed(SEVERITY):  # later assignments win: the most severe last
        j = CATS.index(cat)
        out[P[:, j] >= thr[j]] = j + 1
    return out


def best_threshold(y, p):
    if not y.any():
        return 0.5, 0.0
    best = (0.5, -1.0)
    for t in np.arange(0.05, 0.96, 0.01):
        f = f1_score(y, p >= t, zero_division=0)
        if f > best[1]:
            best = (float(round(t, 2)), f)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--report", required=True)
    ap.add_argument("--buckets-log2", type=int, default=18)
    ap.add_argument("--n-min", type=int, default=1)
    ap.add_argument("--n-max", type=int, default=3)
    ap.add_argument("--C", type=float, nargs="+", default=[1.0, 2.0, 4.0, 8.0])
    a = ap.parse_args()
    t0 = time.time()
    nb = 1 << a.buckets_log2

    split = {s: {k: read(f"{a.data}/{s}.{k}.tsv") for k in ("train", "valid", "test")} for s in SOURCES}
    apeach = read(f"{a.data}/apeach.test.tsv")
    train = [r for s in SOURCES for r in split[s]["train"]]
    valid = [r for s in SOURCES for r in split[s]["valid"]]
    feat = lambda rows: features.matrix([r[0] for r in rows], a.n_min, a.n_max, nb)  # noqa: E731
    Xtr, Xva = feat(train), feat(valid)
    Ytr, Yva = targets(train), targets(valid)
    print(f"features: {len(train)} train, {len(valid)} valid texts, {time.time() - t0:.1f} s", file=sys.stderr)

    # Per category: C by validation average precision-free F1 (best threshold), then refit is not needed
    # (the validation split is never trained on: it stays a clean place for the thresholds).
    W = np.zeros((nb, len(CATS)), dtype=np.float64)
    b = np.zeros(len(CATS), dtype=np.float64)
    chosen = {}
    for j, cat in enumerate(CATS):
        best = None
        for C in a.C:
            m = LogisticRegression(C=C, solver="liblinear", class_weight="balanced", max_iter=200,
                                   random_state=0)
            m.fit(Xtr, Ytr[:, j])
            p = m.predict_proba(Xva)[:, 1]
            thr, f = best_threshold(Yva[:, j], p)
            print(f"  {cat:9s} C={C:<5g} valid F1 {f:.3f} at {thr:.2f}", file=sys.stderr)
            if best is None or f > best[0]:
                best = (f, C, m)
        W[:, j] = best[2].coef_[0]
        b[j] = best[2].intercept_[0]
        chosen[cat] = {"C": best[1]}

    # What is stored (f16 weights, f32 bias) is what is evaluated.
    W16 = W.astype(np.float16)
    b32 = b.astype(np.float32)
    Pva = features.scores(Xva, W16, b32)
    thr = np.zeros(len(CATS), dtype=np.float32)
    for j, cat in enumerate(CATS):
        thr[j], f = best_threshold(Yva[:, j], Pva[:, j])
        chosen[cat].update(threshold=float(thr[j]), valid_f1=round(f, 4))
    train_s = time.time() - t0

    report = {"config": {"n_min": a.n_min, "n_max": a.n_max, "n_buckets": nb, "chosen": chosen,
                         "train_texts": len(train), "valid_texts": len(valid), "train_seconds": round(train_s, 1)},
              "test": {}}
    evals = [(s, split[s]["test"]) for s in SOURCES] + [("apeach", apeach)]
    for name, rows in evals:
        P = features.scores(feat(rows), W16, b32)
        lab = labels(P, thr)
        gold = source_abusive(name, rows)
        pred = lab > 0
        r = {"n": len(rows), "abusive": int(gold.sum()),
             "binary_macro_f1": round(f1_score(gold, pred, average="macro"), 4),
             "binary_f1_abusive": round(f1_score(gold, pred), 4),
             "accuracy": round(float((gold == pred).mean()), 4)}
        if name != "apeach":
            Y = targets(rows)
            per = {}
            for j, cat in enumerate(CATS):
                if Y[:, j].sum():
                    per[cat] = {"n": int(Y[:, j].sum()),
                                "f1": round(f1_score(Y[:, j], P[:, j] >= thr[j], zero_division=0), 4)}
            r["per_category_f1"] = per
            # macro-F1 over the categories the source itself labels (lexicon categories aside)
            own = {"kocohub": ["insult", "hate"], "hatescore": ["insult", "hate"], "kote": ["insult"],
                   "threats": ["threat"]}[name]
            r["own_categories_macro_f1"] = round(float(np.mean([per[c]["f1"] for c in own])), 4)
        report["test"][name] = r
        print(name, json.dumps(r, ensure_ascii=False), file=sys.stderr)

    meta = {
        "general.name": "sori ko-moderate",
        "general.license": "CC-BY-SA-4.0",
        "general.description": "Korean abusive-speech classifier: hashed character n-grams, one logistic "
                               "regression per category (tools/moderate/train.py).",
        "n_buckets": nb,
        "n_min": a.n_min,
        "n_max": a.n_max,
        "max_run": features.MAX_RUN,
        "hash": "fnv1a32-n-cp32le",
        "categories": CATS,
        "thresholds": [float(x) for x in thr],
        "severity": SEVERITY,
        "training": f"kocohub/korean-hate-speech, sgunderscore/hatescore-korean-hate-speech, searle-j/KOTE "
                    f"({len(train)} texts); data/README.md has the card",
    }
    from sori_gguf import write_model
    write_model(a.out, "sori.moderate", meta, {"moderate.weight": W16, "moderate.bias": b32})
    np.savez_compressed(os.path.splitext(a.report)[0] + ".npz", W16=W16, b32=b32, thr=thr)
    with open(a.report, "w") as f:
        json.dump(report, f, ensure_ascii=False, indent=1)
    print(f"wrote {a.out} ({os.path.getsize(a.out)} bytes) in {time.time() - t0:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
