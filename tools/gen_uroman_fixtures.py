#!/usr/bin/env python3
"""Fixtures for sori_ko_uroman (text/uroman.c, tests/test_uroman.c): what
uroman (isi-nlp/uroman, the romanizer MMS-TTS's Korean voice was trained
through) writes for Korean.

  1. Reads uroman's tables back from it: each initial (with ㅏ), vowel (after
     ㅇ), final (after 아) and compatibility jamo, and asserts that initial +
     vowel + final gives uroman's output for every one of the 11,172
     syllables (so the C tables, printed with --print-tables, are uroman's
     whole rule for Hangul).
  2. Writes tests/fixtures/text/uroman_ko.tsv (input TAB uroman's output):
     the tables' lines (every initial, vowel, final and compatibility jamo),
     then corpus sentences (../shared/data/text/ko_corpus.tsv.xz, taken in
     the order of their SHA-1) whose other characters uroman copies
     unchanged (Hanja, which uroman reads as Chinese, and other scripts are
     left out: sori reads Hanja in Hangul through sori_tn first).

    pip install uroman==1.3.1.1
    python3 tools/gen_uroman_fixtures.py [--n 400] [--print-tables]
"""
import argparse
import hashlib
import lzma
import os

import uroman as ur

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "..", "shared", "data", "text", "ko_corpus.tsv.xz")
OUT = os.path.join(ROOT, "tests", "fixtures", "text", "uroman_ko.tsv")


def syl(l, v, t):
    return chr(0xAC00 + (l * 21 + v) * 28 + t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, default=400)
    ap.add_argument("--print-tables", action="store_true")
    a = ap.parse_args()
    u = ur.Uroman()
    rom = u.romanize_string
    ini = [rom(syl(l, 0, 0))[:-1] for l in range(19)]
    vow = [rom(syl(11, v, 0)) for v in range(21)]
    fin = [rom(syl(11, 0, t))[1:] for t in range(28)]
    compat = [rom(chr(c)) for c in range(0x3131, 0x318F)]
    for l in range(19):
        for v in range(21):
            for t in range(28):
                assert rom(syl(l, v, t)) == ini[l] + vow[v] + fin[t], syl(l, v, t)
    if a.print_tables:
        print("INITIAL", ini, "\nVOWEL", vow, "\nFINAL", fin, "\nCOMPAT", compat)
    rows = [(" ".join(syl(l, 0, 0) for l in range(19)), None), (" ".join(syl(11, v, 0) for v in range(21)), None),
            (" ".join(syl(11, 0, t) for t in range(28)), None),
            (" ".join(chr(c) for c in range(0x3131, 0x318F) if c != 0x3164), None)]

    def hangul(c):
        return 0xAC00 <= ord(c) <= 0xD7A3 or 0x3131 <= ord(c) <= 0x318E

    copied = {}
    lines = []
    with lzma.open(CORPUS, "rt", encoding="utf-8") as f:
        next(f)
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 3:
                continue
            t = p[2].strip()
            if not 5 <= len(t) <= 80 or "\t" in t or not any(hangul(c) for c in t):
                continue
            ok = True
            for c in t:
                if not hangul(c):
                    if c not in copied:
                        copied[c] = rom(c) == c
                    ok = ok and copied[c]
            if ok:
                lines.append(t)
    lines.sort(key=lambda t: hashlib.sha1(t.encode()).digest())
    rows += [(t, None) for t in lines[: a.n]]
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("# input\turoman 1.3.1.1's output (tools/gen_uroman_fixtures.py)\n")
        esc = lambda x: x.replace("\\", "\\\\").replace("\n", "\\n")  # noqa: E731 (tests/tsv.h)
        for t, _ in rows:
            f.write(f"{esc(t)}\t{esc(rom(t))}\n")
    print(f"{OUT}: {len(rows)} lines ({len(lines)} corpus lines qualified)")


if __name__ == "__main__":
    main()
