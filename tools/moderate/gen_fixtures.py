#!/usr/bin/env python3
"""The fixtures of tests/test_moderate.c:

  tests/fixtures/moderate/tiny.gguf   a small model (2^12 buckets, 1- to 4-grams,
                                      f16) trained like the real one, so the
                                      test runs without data/ko-moderate.gguf
  tests/fixtures/moderate/cases.tsv   sentences with the label and the four
                                      scores Python computes with tiny.gguf

    python3 tools/moderate/gen_fixtures.py --data /tmp/moderate/data

The sentences are written for the test (edge cases of the normalization:
ASCII case, digits, every kind of whitespace, long runs, 4-byte code points)
plus the first 40 lines of the HateScore held-out test split (Apache-2.0,
sgunderscore/hatescore-korean-hate-speech). Text fields escape \\ \\t \\n \\r \\0.
"""
import argparse
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
import features  # noqa: E402
from train import CATS, SEVERITY, labels, read, targets  # noqa: E402

N_MIN, N_MAX, LOG2 = 1, 4, 12
THRESHOLDS = [0.5, 0.5, 0.5, 0.5]

WRITTEN = [
    "", " ", "\t\n ", "a", "ㅋ", "안녕하세요", "  안녕하세요  반갑습니다  ",
    "HELLO World 123 abc", "Hello\u3000world\u00a0again", "줄\t바꿈\r\n섞인\x0b문장\x0c입니다",
    "ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ 진짜 웃기네", "ㅋㅋㅋ", "아아아아아아아아", "!!!!!!!!", "0000 1111 9999 전화번호 010-1234-5678",
    "이모지 😀😀😀😀 섞인 글 🤬", "𝒜𝒷𝒸 수학 글자", "ÀÉÎ ÕÜ 라틴 확장", "日本語と中文も", "중간에\u0000널 문자",
    "이 병신 같은 새끼야", "씨발 날씨 존나 덥네", "너 죽여버린다", "여자들은 집에서 애나 봐라",
    "고객님 감사합니다 좋은 하루 되세요", "전라도 놈들은 다 똑같아", "밤길 조심히 들어가세요",
    "시발점이 어디인가요", "ㅅㅂ 진짜 짜증나네", "개새끼들 다 꺼져", "너네 집 찾아간다 각오해",
    "x" * 300, "가" * 50 + " " + "나다" * 40,
]


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r").replace("\0", "\\0")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "..", "tests", "fixtures", "moderate"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    nb = 1 << LOG2
    rows = [r for s in ("kocohub", "hatescore", "kote", "threats") for r in read(f"{a.data}/{s}.train.tsv")]
    X = features.matrix([r[0] for r in rows], N_MIN, N_MAX, nb)
    Y = targets(rows)
    W = np.zeros((nb, len(CATS)))
    b = np.zeros(len(CATS))
    for j in range(len(CATS)):
        m = LogisticRegression(C=4.0, solver="liblinear", class_weight="balanced", max_iter=200,
                               random_state=0).fit(X, Y[:, j])
        W[:, j], b[j] = m.coef_[0], m.intercept_[0]
    W16, b32 = W.astype(np.float16), b.astype(np.float32)
    thr = np.array(THRESHOLDS, dtype=np.float32)

    from sori_gguf import write_model
    write_model(f"{a.out}/tiny.gguf", "sori.moderate",
                {"general.name": "sori ko-moderate test fixture", "n_buckets": nb, "n_min": N_MIN, "n_max": N_MAX,
                 "max_run": features.MAX_RUN, "hash": "fnv1a32-n-cp32le", "categories": CATS,
                 "thresholds": THRESHOLDS, "severity": SEVERITY},
                {"moderate.weight": W16, "moderate.bias": b32})

    texts = WRITTEN + [r[0] for r in read(f"{a.data}/hatescore.test.tsv")[:40]]
    P = features.scores(features.matrix(texts, N_MIN, N_MAX, nb), W16, b32)
    lab = labels(P, thr)
    names = ["ok"] + CATS
    with open(f"{a.out}/cases.tsv", "w", encoding="utf-8") as f:
        f.write("# text\tlabel\tprofanity\tinsult\tthreat\thate  (tools/moderate/gen_fixtures.py, tiny.gguf)\n")
        for t, p, l in zip(texts, P, lab):
            f.write(escape(t) + "\t" + names[l] + "\t" + "\t".join(f"{x:.9f}" for x in p) + "\n")
    print(f"wrote {a.out}/tiny.gguf ({os.path.getsize(a.out + '/tiny.gguf')} bytes) and {len(texts)} cases")


if __name__ == "__main__":
    main()
