#!/usr/bin/env python3
"""Training text for the bundled Korean model, from ../shared/data/text/ko_corpus.tsv.xz only.

    python3 tools/ko/text.py [--corpus PATH] [--sori build/bin/sori | --no-tn] --out DIR

Steps, in this order (docs/model-card-ko.md says why):
  1. split each corpus line into sentences at . ? ! and line-internal newlines;
  2. speak: sentences with digits, Latin letters or signs (%, ₩, $, @ …) go
     through sori's text normalization (`sori text normalize`, one process
     for all of them), so 3개 becomes 세개 and 010-1234-5678 공일공 일이삼사
     오육칠팔 instead of the sentence being left out; --no-tn keeps the old
     behaviour (such sentences dropped);
     clean: Unicode NFC; drop what is still not Hangul (lower-case Latin
     words, bare jamo such as ㅋㅋ, emoji or other symbols, URLs, Hanja);
     keep 3..40 Hangul syllables;
  3. normalize: the label is the Hangul words separated by single spaces
     (punctuation and quotes removed);
  4. rebalance: movie reviews (e9t__nsmc) are two thirds of the corpus and
     are capped; every other source is kept;
  5. deduplicate on the normalized text;
  6. split by sentence into train / dev / test with a hash of the normalized
     text (so the split is stable when the corpus grows).
Writes DIR/{train,dev,test}.tsv (source, licence, text) and DIR/stats.json.
Deterministic: the same corpus gives byte-identical files.
"""
import argparse
import collections
import hashlib
import json
import lzma
import os
import random
import re
import subprocess
import unicodedata

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# what sori's text normalization has something to say for
NEEDS_TN = re.compile(r"[0-9A-Za-z%₩$€¥£°√@]")
# characters that may appear in a kept sentence before normalization
ALLOWED = re.compile(r"^[\uac00-\ud7a3 .,?!'\"~\-·…:;()\[\]“”‘’]+$")
URL = re.compile(r"https?://|www\.|\.com\b|\.kr\b", re.I)
SENT_SPLIT = re.compile(r"(?<=[.?!])\s+|[\r\n]+")
PUNCT = re.compile(r"[^\uac00-\ud7a3 ]+")

NSMC = "e9t__nsmc"
NSMC_CAP = 70000  # movie reviews kept (of ~680k); the rest of the corpus is ~340k lines


def sentences(text):
    for s in SENT_SPLIT.split(text):
        s = s.strip()
        if s:
            yield s


def speak(sori, sents):
    """The sentences as they are said (`sori text normalize`: one output line per input line)."""
    if not sents:
        return []
    data = "\n".join(s.replace("\n", " ") for s in sents) + "\n"
    out = subprocess.run([sori, "text", "normalize"], input=data.encode(), capture_output=True)
    lines = out.stdout.decode().split("\n")[:-1]
    if len(lines) != len(sents):
        raise SystemExit(f"sori text normalize gave {len(lines)} lines for {len(sents)}: {out.stderr.decode()[:500]}")
    return lines


def clean(s, spoken=False):
    """Return the normalized label, or None when the sentence is left out."""
    s = unicodedata.normalize("NFC", s)
    if not spoken and URL.search(s):
        return None
    s = s.replace("\u00a0", " ").replace("\t", " ")
    if not ALLOWED.match(s):
        return None  # digits, Latin, jamo, emoji, Hanja, other symbols
    norm = " ".join(PUNCT.sub(" ", s).split())
    n = len(HANGUL.findall(norm))
    if n < 3 or n > 40:
        return None
    # a "sentence" that is one syllable repeated (ㅋ-like laughter spelled out) is noise
    if len(set(norm.replace(" ", ""))) <= 2:
        return None
    return norm


def bucket(text):
    h = int.from_bytes(hashlib.sha1(text.encode()).digest()[:8], "little")
    r = h % 1000
    return "test" if r < 8 else "dev" if r < 16 else "train"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = [os.path.join(here, *up, "shared", "data", "text", "ko_corpus.tsv.xz") for up in (("..", ".."), ("..", "..", ".."))]
    ap.add_argument("--corpus", default=next((c for c in corpus if os.path.exists(c)), corpus[-1]))
    ap.add_argument("--out", required=True)
    ap.add_argument("--sori", default=os.path.join(here, "..", "..", "build", "bin", "sori"),
                    help="the sori executable whose text normalization speaks digits and Latin letters")
    ap.add_argument("--no-tn", action="store_true", help="drop sentences with digits or Latin letters instead")
    a = ap.parse_args()
    if not a.no_tn and not os.access(a.sori, os.X_OK):
        raise SystemExit(f"{a.sori} is not there: build sori first, or give --sori PATH or --no-tn")

    by_source = collections.defaultdict(list)
    licence = {}
    seen_lines = dropped = 0
    pending = []  # (source, sentence) for the text normalization
    with lzma.open(a.corpus, "rt", encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                dropped += 1
                continue
            src, lic, text = parts
            seen_lines += 1
            licence[src] = lic
            for s in sentences(text):
                if not a.no_tn and NEEDS_TN.search(s) and not URL.search(s):
                    pending.append((src, unicodedata.normalize("NFC", s)))
                    continue
                norm = clean(s)
                if norm is None:
                    dropped += 1
                else:
                    by_source[src].append(norm)
    spoken_kept = 0
    for (src, _), said in zip(pending, speak(a.sori, [s for _, s in pending])):
        norm = clean(said, spoken=True)
        if norm is None:
            dropped += 1
        else:
            by_source[src].append(norm)
            spoken_kept += 1

    rng = random.Random(20261128)
    kept = []
    for src in sorted(by_source):
        items = by_source[src]
        if src == NSMC and len(items) > NSMC_CAP:
            items = rng.sample(items, NSMC_CAP)
        kept.extend((src, t) for t in items)

    seen = set()
    splits = {"train": [], "dev": [], "test": []}
    for src, t in kept:
        if t in seen:
            continue
        seen.add(t)
        splits[bucket(t)].append((src, licence[src], t))

    os.makedirs(a.out, exist_ok=True)
    stats = {"corpus_lines": seen_lines, "sentences_dropped": dropped, "sentences_normalized": len(pending),
             "normalized_kept": spoken_kept, "per_split": {}, "per_source": {}}
    for name, rows in splits.items():
        rows.sort(key=lambda r: hashlib.sha1(r[2].encode()).digest())
        with open(os.path.join(a.out, f"{name}.tsv"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write("\t".join(r) + "\n")
        syl = collections.Counter(c for r in rows for c in r[2] if c != " ")
        stats["per_split"][name] = {"sentences": len(rows), "syllables": sum(syl.values()), "distinct_syllables": len(syl)}
        for r in rows:
            d = stats["per_source"].setdefault(r[0], {"licence": r[1], "train": 0, "dev": 0, "test": 0})
            d[name] += 1
    with open(os.path.join(a.out, "stats.json"), "w") as f:
        json.dump(stats, f, ensure_ascii=False, indent=1, sort_keys=True)
    print(json.dumps(stats["per_split"], ensure_ascii=False))
    print(f"text normalization: {len(pending)} sentences with digits, Latin letters or signs, {spoken_kept} kept")


if __name__ == "__main__":
    main()
