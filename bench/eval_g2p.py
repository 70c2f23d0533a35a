#!/usr/bin/env python3
"""Standard pronunciation: sori's G2P (`sori text g2p`) against g2pkk, same words, one run.

    pip install -r tools/ko/requirements.txt       # g2pkk, python-mecab-ko
    python3 bench/eval_g2p.py [--sori build/bin/sori] [--out FILE] [--repeat 20]

Sets (evaluation only; nothing is tuned on them):
  kog2p   ../shared/data/ko_lang/scarletcho__KoG2P/testset.txt: 475 words and their standard
          pronunciation in Hangul (GPL-3.0: read here, never copied into the project);
  kog2p_unlisted  the KoG2P words that are not in g2pK's exceptions (both programs hold those);
  idioms  ../shared/data/ko_lang/Kyubyong__g2pK/g2pk/idioms.txt: g2pK's exceptions, `word===said`
          lines without regular-expression syntax (the cases its rules alone get wrong). g2pkk
          applies this table before its rules, and sori's compound lexicon is generated from it
          too (tools/ko/make_g2p_lexicon.py --idioms): a score here shows the table is applied,
          not how the rules generalize;
  wikipron ../shared/data/ko_lang/CUNY-CL__wikipron: Wiktionary's Korean words in narrow IPA,
          mapped back to the Hangul syllables said (phones to jamo, then syllables; words whose
          IPA does not map, or maps to another number of syllables, are left out), --wikipron N of
          them evenly spaced; ㅐ/ㅔ and ㅚ/ㅙ/ㅞ count as the same vowel.
Accuracy: the share of items whose pronunciation equals the reference exactly, spaces aside (KoG2P
writes its phrases, 옷 한 벌 → 오탄벌, without them; both programs keep the input's). Speed: words per
second over the whole set, sori as one process reading standard input (process start included),
g2pkk in this process (its load excluded); medians of --repeat runs.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "..", "shared", "data", "ko_lang")


def kog2p():
    rows = []
    with open(os.path.join(DATA, "scarletcho__KoG2P", "testset.txt"), encoding="utf-8") as f:
        for line in f:
            p = line.strip().split("\t")
            if len(p) == 2:
                rows.append((p[0].strip(), p[1].strip()))
    return rows


def idioms():
    rows = []
    with open(os.path.join(DATA, "Kyubyong__g2pK", "g2pk", "idioms.txt"), encoding="utf-8") as f:
        for line in f:
            line = line.split("#")[0].strip()
            if "===" not in line:
                continue
            a, b = line.split("===", 1)
            if re.search(r"[\\\[\]\(\)\|\*\+\?\.\^\$/]", a + b):
                continue
            rows.append((a.strip(), b.strip()))
    return rows


# wikipron's narrow IPA → the Hangul syllables said (its phones to jamo, then syllables)
IPA_CONS = {  # longest first when matching
    "t͡ɕʰ": "ㅊ", "t͡ɕ͈": "ㅉ", "t͡ɕ": "ㅈ", "d͡ʑ": "ㅈ", "pʰ": "ㅍ", "tʰ": "ㅌ", "kʰ": "ㅋ", "p͈": "ㅃ", "t͈": "ㄸ",
    "k͈": "ㄲ", "s͈": "ㅆ", "ɕ͈": "ㅆ", "sʰ": "ㅅ", "ɕʰ": "ㅅ", "p": "ㅂ", "b": "ㅂ", "β": "ㅎ", "t": "ㄷ", "d": "ㄷ",
    "k": "ㄱ", "ɡ": "ㄱ", "g": "ㄱ", "ɣ": "ㄱ", "s": "ㅅ", "ɕ": "ㅅ", "h": "ㅎ", "ɦ": "ㅎ", "ç": "ㅎ", "x": "ㅎ",
    "ɸ": "ㅎ", "β̞": "ㅎ", "m": "ㅁ", "n": "ㄴ", "ɲ": "ㄴ", "ŋ": "ㅇ", "ɾ": "ㄹ", "l": "ㄹ", "ɭ": "ㄹ", "ʎ": "ㄹ",
}
IPA_VOW = {"a": "ㅏ", "ʌ": "ㅓ", "ɘ": "ㅓ", "ə": "ㅓ", "o": "ㅗ", "u": "ㅜ", "ɯ": "ㅡ", "i": "ㅣ", "e": "ㅔ", "ɛ": "ㅐ",
           "ø": "ㅚ", "y": "ㅟ"}
GLIDE = {("j", "ㅏ"): "ㅑ", ("j", "ㅓ"): "ㅕ", ("j", "ㅗ"): "ㅛ", ("j", "ㅜ"): "ㅠ", ("j", "ㅔ"): "ㅖ", ("j", "ㅐ"): "ㅒ",
         ("w", "ㅏ"): "ㅘ", ("w", "ㅓ"): "ㅝ", ("w", "ㅔ"): "ㅞ", ("w", "ㅐ"): "ㅙ", ("w", "ㅣ"): "ㅟ",
         ("ɥ", "ㅣ"): "ㅟ", ("ɰ", "ㅣ"): "ㅢ"}
CHO = "ㄱㄲㄴㄷㄸㄹㅁㅂㅃㅅㅆㅇㅈㅉㅊㅋㅌㅍㅎ"
JUNG = "ㅏㅐㅑㅒㅓㅔㅕㅖㅗㅘㅙㅚㅛㅜㅝㅞㅟㅠㅡㅢㅣ"
JONG = ["", "ㄱ", "ㄲ", "ㄳ", "ㄴ", "ㄵ", "ㄶ", "ㄷ", "ㄹ", "ㄺ", "ㄻ", "ㄼ", "ㄽ", "ㄾ", "ㄿ", "ㅀ", "ㅁ", "ㅂ", "ㅄ",
        "ㅅ", "ㅆ", "ㅇ", "ㅈ", "ㅊ", "ㅋ", "ㅌ", "ㅍ", "ㅎ"]


def ipa_to_hangul(ipa):
    """Hangul for wikipron's narrow IPA (space-separated phones), or None when a phone is unknown."""
    seq = []  # ("C", jamo) / ("V", jamo)
    glide = None
    for ph in ipa.split():
        ph = re.sub("[ː̠̹̞̚ʲ̥̬̤ˀ]", "", ph)
        if ph in ("j", "w", "ɥ", "ɰ"):
            glide = ph
            continue
        if ph in IPA_CONS:
            seq.append(("C", IPA_CONS[ph]))
            # a palatal onset (ɲ ʎ ɕ) holds the glide of the vowel after it: ɲa is 냐, ɕʌ is 셔
            glide = "j" if ph in ("ɲ", "ʎ", "ɕ", "ɕʰ", "ɕ͈") else None
            continue
        if ph in ("we", "wɛ"):  # ㅚ said [we]
            seq.append(("V", "ㅞ" if ph == "we" else "ㅙ"))
            continue
        if ph in IPA_VOW:
            v = IPA_VOW[ph]
            if glide == "j" and seq and seq[-1][0] == "C" and v in ("ㅣ", "ㅟ"):
                glide = None
            if glide:
                v = GLIDE.get((glide, v))
                if v is None:
                    return None
            seq.append(("V", v))
            glide = None
            continue
        return None
    if glide and not (seq and seq[-1][0] == "C"):
        return None
    out, i = [], 0
    while i < len(seq):
        onset = "ㅇ"
        if seq[i][0] == "C" and seq[i][1] != "ㅇ":  # ŋ is never an onset
            onset = seq[i][1]
            i += 1
        if i >= len(seq) or seq[i][0] != "V":
            return None
        v = seq[i][1]
        i += 1
        coda = ""
        # a consonant before another consonant, or at the end, closes the syllable
        if i < len(seq) and seq[i][0] == "C" and (i + 1 >= len(seq) or seq[i + 1][0] == "C" or seq[i][1] == "ㅇ"):
            coda = seq[i][1]
            i += 1
        if coda not in JONG:
            return None
        out.append(chr(0xAC00 + (CHO.index(onset) * 21 + JUNG.index(v)) * 28 + JONG.index(coda)))
    return "".join(out)


def wikipron():
    """wikipron's Korean lexicon (Apache-2.0, scraped from Wiktionary), single words whose IPA maps to
    Hangul; ㅐ/ㅔ and ㅚ/ㅞ are merged on both sides before comparing (Wiktionary's transcriptions
    keep spelling distinctions speakers no longer make)."""
    rows = []
    path = os.path.join(DATA, "CUNY-CL__wikipron", "data", "scrape", "tsv", "kor_hang_narrow_filtered.tsv")
    with open(path, encoding="utf-8") as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) != 2 or " " in p[0] or not re.fullmatch(r"[\uac00-\ud7a3]+", p[0]):
                continue
            h = ipa_to_hangul(p[1])
            if h and len(h) == len(p[0]):
                rows.append((p[0], h))
    return rows


def merge_vowels(s):
    """ㅐ→ㅔ, ㅒ→ㅖ, ㅙ/ㅚ→ㅞ in each syllable (the merged vowels of today's speech)"""
    out = []
    for ch in s:
        c = ord(ch) - 0xAC00
        if 0 <= c < 11172:
            cho, jung, jong = c // 588, (c % 588) // 28, c % 28
            jung = {1: 5, 3: 7, 10: 15, 11: 15}.get(jung, jung)
            ch = chr(0xAC00 + cho * 588 + jung * 28 + jong)
        out.append(ch)
    return "".join(out)


def g2pkk():
    import nltk
    nltk.data.find = lambda *a, **k: True  # English words are not in these sets: no CMU dictionary
    nltk.corpus.cmudict = types.SimpleNamespace(dict=lambda: {})
    from g2pkk import G2p
    return G2p()


def run_sori(sori, words):
    t0 = time.perf_counter()
    r = subprocess.run([sori, "text", "g2p"], input="\n".join(words) + "\n", capture_output=True, text=True)
    dt = time.perf_counter() - t0
    out = r.stdout.split("\n")[:len(words)]
    if len(out) != len(words):
        sys.exit(f"sori text g2p gave {len(out)} lines for {len(words)}: {r.stderr[-300:]}")
    return out, dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--out")
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--show", type=int, default=0, help="print this many of sori's misses per set")
    ap.add_argument("--wikipron", type=int, default=2000,
                    help="words of wikipron's Korean lexicon, evenly spaced (0: leave the set out)")
    ap.add_argument("--wikipron-offset", type=int, default=0,
                    help="where the evenly spaced words start (offset 0 was looked at while writing the "
                         "rules; report on another)")
    args = ap.parse_args()
    g = g2pkk()
    res = {"load1": os.getloadavg()[0]}
    ko, idi = kog2p(), idioms()
    listed = {w for w, _ in idi}
    # sori's lexicon holds g2pK's exceptions (as g2pkk applies them): KoG2P without those words too
    sets = [("kog2p", ko), ("kog2p_unlisted", [r for r in ko if r[0] not in listed]), ("idioms", idi)]
    if args.wikipron:
        w = wikipron()
        if args.wikipron < len(w):
            w = w[args.wikipron_offset:: max(1, len(w) // args.wikipron)][: args.wikipron]
        sets.append(("wikipron", w))
    for name, rows in sets:
        words = [w for w, _ in rows]
        so, _ = run_sori(args.sori, words)
        go = [g(w) for w in words]
        ts = statistics.median(run_sori(args.sori, words)[1] for _ in range(args.repeat))
        tg = []
        for _ in range(max(1, args.repeat // 10)):
            t0 = time.perf_counter()
            for w in words:
                g(w)
            tg.append(time.perf_counter() - t0)
        tg = statistics.median(tg)
        def same(a, b):
            a, b = a.replace(" ", ""), b.replace(" ", "")
            return a == b or (name == "wikipron" and merge_vowels(a) == merge_vowels(b))
        acc_s = sum(same(a, b) for a, (_, b) in zip(so, rows)) / len(rows)
        acc_g = sum(same(a, b) for a, (_, b) in zip(go, rows)) / len(rows)
        res[name] = {"words": len(rows), "sori": acc_s, "g2pkk": acc_g, "sori_words_per_s": len(rows) / ts,
                     "g2pkk_words_per_s": len(rows) / tg}
        print(f"{name}: {len(rows)} words: sori {100 * acc_s:.1f} %, g2pkk {100 * acc_g:.1f} % exact; "
              f"{len(rows) / ts:,.0f} vs {len(rows) / tg:,.0f} words/s ({tg / ts:.0f}x)")
        shown = 0
        for (w, ref), a, b in zip(rows, so, go):
            if not same(a, ref) and shown < args.show:
                print(f"  {w}\tref {ref}\tsori {a}\tg2pkk {b}")
                shown += 1
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
