#!/usr/bin/env python3
"""The compound lexicon of sori's G2P (text/g2p_lexicon.h) from mecab-ko-dic.

    pip install python-mecab-ko-dic==2.1.1.post2     # mecab-ko-dic 2.1.1, Apache-2.0
    python3 tools/ko/make_g2p_lexicon.py --idioms ../shared/data/ko_lang/Kyubyong__g2pK/g2pk/idioms.txt \
        --sori build/bin/sori > text/g2p_lexicon.h

Rules of 표준발음법 that depend on where a compound's parts meet, which a word's spelling does
not show: ㄴ insertion (29: 막일 → 망닐, 서울역 → 서울력, 식용유 → 시굥뉴), ㄴ + ㄹ said ㄴ + ㄴ
before a one-syllable Sino-Korean suffix (20, its note: 생산량 → 생산냥, 결단력 → 결딴녁), the
사이시옷 before 이 야 여 요 유 (30: 베갯잇 → 베갠닏, 뒷일 → 뒨닐; before a consonant it is said as
an obstruent, as the rules say anyway), and the Sino-Korean suffixes 법 성 증 권 tensed after a
vowel or a sonorant (가정법 → 가정뻡, 가능성 → 가능썽). mecab-ko-dic (the Eunjeon project's
dictionary, Apache-2.0) writes each compound noun with its parts (`막/NNG/*+일/NNG/*`); this
script reads its compiled sys.dic (the feature strings of every entry: POS, reading, type,
parts), keeps the compounds where one of those rules applies at a seam, and writes them as a
sorted C table of (word, up to three seams and their rules). Which seams qualify:

  ㄴ insertion  the part before ends in a consonant; the last part is one of the Sino-Korean
                suffixes that take ㄴ as words of their own (역 station, 염 inflammation, 유 oil,
                약 medicine, 용 "for"), or 일 입 요 after a one-syllable first part (막일, 맨입,
                담요). Other parts beginning 이 야 여 요 유 are left out: Sino-Korean ones (인 일보
                율 연 …) mostly take none (역학인, 경상일보, 환갑연), and the native words that do
                are in the rule's own list in g2p.c.
  ㄴ + ㄴ       a part of two or more syllables ending in ㄴ, then a last part of one syllable
                beginning with ㄹ (량 력 령 례 로 론 료 류 …), unless the same spelling is also a
                proper noun (대관령, a place, is said 대괄령).
  tensed suffix the last part is 법 성 증 권 and the part before ends in a vowel or ㄴ ㄹ ㅁ ㅇ
                (병 과 가 were left out: as often 兵 課 家, which stay lenis: 정찰병, 인사과).
  사이시옷      a part ending in ㅅ whose spelling without the ㅅ is a noun of two or more
                syllables and which is no word by itself (나뭇 from 나무, 베갯 from 베개), or one
                of the one-syllable parts in SAI1 (냇, 뒷, 콧 …: the ㅅ-less noun is one syllable,
                too short to test that way).

With --idioms, g2pK's table of lexical exceptions (Kyubyong Park's g2pK, Apache-2.0: its
g2pk/idioms.txt, `spelled===said`, the words 표준발음법 itself gives as examples of rules that
depend on the word: 문고리 → 문꼬리, 냇가 → 내까, 금융 → 금늉 …) is added too, each entry's seams
read from the two spellings (an entry replaces mecab's for the same word):

  ㄴ insertion  an ㅇ said ㄴ or ㄹ after a final that stays (막일 → 망닐, 솔잎 → 솔립; not the
                liaison of 송별연 → 송벼련)
  ㄴ + ㄴ       ㄹ said ㄴ after ㄴ (의견란 → 의견난)
  사이시옷      a final ㅅ before ㅇ said ㄴ (깻잎 → 깬닙)
  silent ㅅ     a final ㅅ not said, the next consonant tensed (냇가 → 내까: rule 30's
                principle, where sori otherwise says the ㅅ as [ㄷ], which the rule allows)
  tensed        a lenis consonant said tense where the rules would not (문고리 → 문꼬리, 갈등 → 갈뜽)

Entries written with digits, signs or Latin letters (3·1절, 3연대) are normalized first with
sori's own TN when --sori names a built sori (`sori text normalize`), else left out; entries
whose two sides differ in length (ml===밀리리터), and those with no such seam (콧날 → 콘날, which
the rules say anyway), are left out.

Evaluation sets (KoG2P, wikipron) are not read here.
"""
import argparse
import os
import struct
import subprocess
import sys

NINS_SUFFIX = {"역", "염", "유", "약", "용"}
NINS_SHORT = {"일", "입", "요"}
SAI1 = set("뒷 갯 윗 햇 뱃 멧 콧 귓 냇 샛 잿 묏 찻 쇳 텃 혓 횟 됫 탯 땟 뼛 핏 촛 곗 봇".split())
KIND = {"n": 0, "l": 1, "s": 2, "t": 3, "q": 4}
LENIS = {0: 1, 3: 4, 7: 8, 9: 10, 12: 13}  # ㄱ ㄷ ㅂ ㅅ ㅈ and their tense pairs (initial indices)


def jamo(ch):
    c = ord(ch) - 0xAC00
    return (c // 588, (c % 588) // 28, c % 28) if 0 <= c < 11172 else None


def hangul(s):
    return bool(s) and all(jamo(c) for c in s)


def features(path):
    """Every entry's feature string in a MeCab sys.dic (header, double array, tokens, features)."""
    b = open(path, "rb").read()
    _magic, _ver, _typ, _lex, _l, _r, dsize, tsize, fsize, _ = struct.unpack("<10I", b[:40])
    off = 72 + dsize
    toks, feats = b[off:off + tsize], b[off + tsize:off + tsize + fsize]
    seen = set()
    for i in range(tsize // 16):
        fo = struct.unpack("<I", toks[i * 16 + 8:i * 16 + 12])[0]
        if fo in seen:
            continue
        seen.add(fo)
        yield feats[fo:feats.index(b"\0", fo)].decode("utf-8")


SINO_TENSE = set("법 성 증 권".split())
NN_SUFFIX = set("란 량 력 령 례 로 론 료 류 록".split())


def idiom_seams(spelled, said):
    """the seams of one exception (see the docstring), or None if the two spellings do not align"""
    if len(spelled) != len(said) or not hangul(spelled) or not hangul(said):
        return None
    seams = []
    for k in range(1, len(spelled)):
        pp, pd, sp, sd = jamo(spelled[k - 1]), jamo(said[k - 1]), jamo(spelled[k]), jamo(said[k])
        kind = None
        if pp[2] == 19 and pd[2] == 0 and sp[0] in LENIS and sd[0] == LENIS[sp[0]]:
            kind = "q"
        elif pp[2] == 19 and pd[2] != 0 and sp[0] == 11 and sd[0] == 2:
            kind = "s"
        elif pp[2] != 0 and pd[2] != 0 and sp[0] == 11 and sd[0] in (2, 5):  # not liaison: 송별연 → 송벼련
            kind = "n"
        elif pp[2] == 4 and sp[0] == 5 and sd[0] == 2:
            kind = "l"
        elif sp[0] in LENIS and sd[0] == LENIS[sp[0]]:
            kind = "t"
        if kind:
            seams.append((k, kind))
    return seams[:3]


def idioms(path, sori):
    """g2pK's exceptions as {word: seams}"""
    rows = []
    for line in open(path, encoding="utf-8"):
        line = line.split("#")[0].strip()
        if "===" in line:
            a, b = (x.strip() for x in line.split("===", 1))
            if a and b:
                rows.append((a, b))
    spelled = [a for a, _ in rows]
    todo = [a for a in spelled if not hangul(a)]
    if todo and sori:
        r = subprocess.run([sori, "text", "normalize"], input="\n".join(todo) + "\n", capture_output=True,
                           text=True, check=True)
        said = dict(zip(todo, r.stdout.split("\n")))
        spelled = [said.get(a, a).replace(" ", "") if not hangul(a) else a for a in spelled]
    out = {}
    for a, (_, b) in zip(spelled, rows):
        seams = idiom_seams(a, b)
        if seams:  # none: the rules alone say it so (송별연 → 송벼련, 콧날 → 콘날)
            out[a] = seams
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dic", help="mecab-ko-dic's sys.dic (default: python-mecab-ko-dic's)")
    ap.add_argument("--idioms", help="g2pK's g2pk/idioms.txt: its lexical exceptions, added to the table")
    ap.add_argument("--sori", help="a built sori, to normalize the exceptions written with digits or signs")
    a = ap.parse_args()
    if not a.dic:
        import mecab_ko_dic
        a.dic = os.path.join(os.path.dirname(mecab_ko_dic.__file__), "dictionary", "sys.dic")
    rows = [f.split(",") for f in features(a.dic)]
    rows = [f for f in rows if len(f) >= 8 and hangul(f[3])]
    words, nouns, proper = set(), set(), set()
    for f in rows:
        if f[4] == "*":
            words.add(f[3])
        if f[4] in ("*", "Compound") and f[0] in ("NNG", "NNP", "NNB"):
            nouns.add(f[3])
        if f[0] == "NNP":
            proper.add(f[3])
    lex = {}
    for f in rows:
        if f[4] != "Compound" or f[0] not in ("NNG", "NNP"):
            continue
        s = f[3]
        parts = [p.split("/")[0] for p in f[7].split("+")]
        if "".join(parts) != s or not all(hangul(p) for p in parts):
            continue
        pos = 0
        for k in range(1, len(parts)):
            x, y = parts[k - 1], parts[k]
            pos += len(x)
            jx, jy = jamo(x[-1]), jamo(y[0])
            last = k == len(parts) - 1
            kind = None
            if jx[2] != 0 and jy[0] == 11 and jy[1] in (20, 2, 6, 12, 17):
                if (y in NINS_SUFFIX and last) or (y in NINS_SHORT and len(x) == 1 and len(parts) == 2):
                    kind = "n"
            if jx[2] == 4 and len(x) >= 2 and y in NN_SUFFIX and last and s not in proper:
                kind = "l"
            if last and y in SINO_TENSE and jx[2] in (0, 4, 8, 16, 21):
                kind = "t"
            if jx[2] == 19:
                base = x[:-1] + chr(0xAC00 + (jx[0] * 21 + jx[1]) * 28)
                if (len(x) >= 2 and base in nouns) or (len(x) == 1 and x in SAI1):
                    kind = "s"
            if kind:
                lex.setdefault(s, []).append((pos, kind))
    nid = 0
    if a.idioms:
        ex = idioms(a.idioms, a.sori)
        nid = len(ex)
        lex.update(ex)
    items = sorted((w.encode("utf-8"), v[:3]) for w, v in lex.items())
    out = sys.stdout
    out.write("/* Generated by tools/ko/make_g2p_lexicon.py from mecab-ko-dic 2.1.1 (the Eunjeon project,\n"
              " * Apache-2.0; its compound nouns and their parts)%s. Do not edit. Sorted by UTF-8 bytes.\n"
              % (" and g2pK's lexical exceptions (Kyubyong Park,\n * Apache-2.0; %d words)" % nid if nid else ""))
    out.write(" * { word, seams: how many, the syllable where each seam's second part begins, and\n"
              " *   its rule: 0 ㄴ insertion, 1 ㄴ + ㄹ said ㄴ + ㄴ, 2 the part before ends in a\n"
              " *   사이시옷, 3 the part's first consonant is tensed, 4 the part before ends in a\n"
              " *   사이시옷 that is not said, and the part's first consonant is tensed } */\n")
    out.write("static const struct g2p_lex_entry {\n    const char *word;\n"
              "    unsigned char n, seam[3], rule[3];\n} G2P_LEXICON[] = {\n")
    for w, seams in items:
        out.write('    {"%s", %d, {%s}, {%s}},\n' % (w.decode("utf-8"), len(seams),
                                                 ", ".join(str(p) for p, _ in seams) or "0",
                                                 ", ".join(str(KIND[k]) for _, k in seams) or "0"))
    out.write("};\n")
    maxlen = max(len(w.decode("utf-8")) for w, _ in items)
    out.write("enum { G2P_LEXICON_MAX_SYLLABLES = %d };\n" % maxlen)
    counts = {k: sum(1 for _, v in items for _, kk in v if kk == k) for k in KIND}
    print("%d words (%d of g2pK's exceptions): %s; longest %d syllables" % (len(items), nid, counts, maxlen),
          file=sys.stderr)


if __name__ == "__main__":
    main()
