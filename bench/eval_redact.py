#!/usr/bin/env python3
"""Precision and recall of sori's personal-data masking on a generated test set.

    python3 bench/eval_redact.py [--sori build/bin/sori] [--n 4000] [--seed 1] [--out FILE] [--show 10]

The set (made here, deterministic for a seed, never committed): call-center sentences built from
templates, each holding one personal number or none, around a sentence of the shared corpus
(../shared/data/text/ko_corpus.tsv.xz, commercial-compatible licences) so ordinary text is on both
sides. Values are random but valid: resident registration numbers (a real date, a sex digit 1-4),
card numbers (Luhn), mobile, Seoul, regional, 070 and 15xx phone numbers, account numbers after a
bank word, e-mail addresses. Each is written in digits (with or without -, spaces or dots between
groups) or read out digit by digit as a caller says it and a recognizer writes it (공/영 for 0,
groups as words, now and then a filler 어/음 or the spoken dash 다시, a particle after the last
group). Negatives: prices, dates, times, counts, years, order and parcel numbers, sizes, written
and spoken. sori runs once over all lines (`sori text redact --format json`); a gold number is
found when a span of the same category covers any of its characters; a predicted span that covers
no gold number of its category is a false positive. Reports per category and overall; speed
(lines per second, the process included).
"""
import argparse
import json
import lzma
import os
import random
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPOKEN = ["공", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"]
BANKS = ["국민은행", "신한은행", "우리은행", "하나은행", "농협", "기업은행", "카카오뱅크", "토스뱅크"]


def luhn_ok(d):
    s = 0
    for i, c in enumerate(reversed(d)):
        x = int(c)
        if i % 2:
            x *= 2
            x -= 9 if x > 9 else 0
        s += x
    return s % 10 == 0


def card(r):
    d = r.choice("45") + "".join(r.choice("0123456789") for _ in range(14))
    for last in "0123456789":
        if luhn_ok(d + last):
            return [d[0:4], d[4:8], d[8:12], d[12:15] + last]


def rrn(r):
    y, m, dd = r.randint(40, 99), r.randint(1, 12), r.randint(1, 28)
    return [f"{y:02d}{m:02d}{dd:02d}", str(r.randint(1, 4)) + "".join(r.choice("0123456789") for _ in range(6))]


def phone(r):
    k = r.random()
    digits = lambda n: "".join(r.choice("0123456789") for _ in range(n))
    if k < 0.6:
        return ["010", r.choice("23456789") + digits(3), digits(4)]
    if k < 0.75:
        return ["02", r.choice("23456789") + digits(3), digits(4)]
    if k < 0.85:
        return [r.choice(["031", "032", "051", "053", "062", "042"]), r.choice("23456789") + digits(2), digits(4)]
    if k < 0.93:
        return ["070", r.choice("23456789") + digits(3), digits(4)]
    return [r.choice(["1588", "1577", "1544", "1600", "1899"]), digits(4)]


def account(r):
    digits = lambda n: "".join(r.choice("0123456789") for _ in range(n))
    return r.choice([[digits(3), digits(3), digits(6)], [digits(6), digits(2), digits(6)], [digits(4), digits(8)]])


def email(r):
    user = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 8)))
    user += r.choice(["", ".kim", "_01", "99"])
    return user + "@" + r.choice(["naver.com", "gmail.com", "daum.net", "example.co.kr", "company.kr"])


def render(r, groups):
    """(text, spoken?) of a number given as digit groups"""
    if r.random() < 0.5:
        sep = r.choice(["-", "-", " ", "", "."])
        return sep.join(groups), False
    words = []
    for i, g in enumerate(groups):
        w = "".join(("영" if (c == "0" and r.random() < 0.2) else SPOKEN[int(c)]) for c in g)
        words.append(w)
        if i + 1 < len(groups) and r.random() < 0.25:
            words.append(r.choice(["어", "음", "다시"]))
    return " ".join(words), True


NEGATIVES = [
    lambda r: f"{r.randint(1, 999):,}원이에요", lambda r: f"{r.randint(1000, 99999) * 100:,}원 결제됐어요",
    lambda r: f"{r.randint(2000, 2026)}년 {r.randint(1, 12)}월 {r.randint(1, 28)}일에 가입했어요",
    lambda r: f"{r.randint(2000, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} 주문 건이요",
    lambda r: f"{r.randint(1, 12)}시 {r.randint(0, 59)}분에 다시 전화할게요",
    lambda r: f"{r.randint(2, 30)}명이 같이 가요", lambda r: f"주문번호는 {r.randint(10 ** 7, 10 ** 10)}번입니다",
    lambda r: f"송장번호 {r.randint(10 ** 11, 10 ** 12)}로 조회해 주세요",
    lambda r: f"{r.randint(100, 300)}센티미터 {r.randint(1, 9)}킬로그램이요",
    lambda r: r.choice(["삼만 오천 원이요", "이천이십사 년에 샀어요", "오 개랑 삼 개 주세요", "일이 많아서요",
                        "이번 달 요금이 칠만 원 나왔어요", "사 층으로 오세요", "구 번 출구에서 봬요"]),
]

TEMPLATES = {
    "phone": ["제 번호는 {v}이에요", "{v}로 연락 주세요", "연락처가 {v} 맞나요", "휴대폰 번호 {v}입니다"],
    "rrn": ["주민번호는 {v}입니다", "주민등록번호 {v}이요", "생년월일 포함해서 {v} 불러드릴게요"],
    "card": ["카드 번호는 {v}입니다", "결제할 카드가 {v}예요", "카드번호 {v} 맞습니다"],
    "account": ["{bank} 계좌 {v}로 보내 주세요", "환불 계좌는 {bank} {v}입니다", "{bank} {v}로 입금했어요"],
    "email": ["이메일은 {v}입니다", "{v}로 보내 주세요", "메일 주소가 {v} 맞아요"],
}


def corpus_sentences(n, seed):
    path = os.path.join(ROOT, "..", "shared", "data", "text", "ko_corpus.tsv.xz")
    out, r = [], random.Random(seed)
    with lzma.open(path, "rt", encoding="utf-8") as f:
        next(f)
        for i, line in enumerate(f):
            if i % 97:
                continue
            t = line.rstrip("\n").split("\t")[-1]
            if 8 <= len(t) <= 60 and not any(c.isdigit() for c in t) and "@" not in t:
                out.append(t)
            if len(out) >= 4 * n:
                break
    r.shuffle(out)
    return out


def build(n, seed):
    r = random.Random(seed)
    ctx = corpus_sentences(n, seed)
    items = []
    for i in range(n):
        kind = r.choice(["phone", "phone", "rrn", "card", "account", "email", "none", "none", "none"])
        if kind == "none":
            core, gold = r.choice(NEGATIVES)(r), None
        else:
            if kind == "email":
                v, spoken = email(r), False
            else:
                v, spoken = render(r, {"phone": phone, "rrn": rrn, "card": card, "account": account}[kind](r))
            tmpl = r.choice(TEMPLATES[kind])
            core = tmpl.format(v=v, bank=r.choice(BANKS))
            start = core.index(v)
            gold = (kind, start, start + len(v), spoken)
        pre = ctx[i % len(ctx)] + " " if r.random() < 0.5 else ""
        post = " " + ctx[(i * 7 + 3) % len(ctx)] if r.random() < 0.5 else ""
        text = pre + core + post
        if gold:
            off = len(pre.encode())
            b0 = len(core[:gold[1]].encode()) + off
            b1 = len(core[:gold[2]].encode()) + off
            gold = (gold[0], b0, b1, gold[3])
        items.append((text, gold))
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sori", default=os.path.join(ROOT, "build", "bin", "sori"))
    ap.add_argument("--n", type=int, default=4000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out")
    ap.add_argument("--show", type=int, default=0)
    a = ap.parse_args()
    items = build(a.n, a.seed)
    t0 = time.perf_counter()
    r = subprocess.run([a.sori, "text", "redact", "--format", "json"], input="\n".join(t for t, _ in items) + "\n",
                       capture_output=True, text=True)
    dt = time.perf_counter() - t0
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    if len(rows) != len(items):
        sys.exit(f"{len(rows)} results for {len(items)} lines: {r.stderr[-300:]}")
    cats = ["rrn", "card", "phone", "account", "email"]
    tp = {c: 0 for c in cats}
    fn = {c: 0 for c in cats}
    fp = {c: 0 for c in cats}
    by_form = {}
    shown = 0
    for (text, gold), row in zip(items, rows):
        spans = [(s["category"], s["begin"], s["end"]) for s in row["spans"] if s["category"] in cats]
        hit = False
        if gold:
            g, b0, b1, spoken = gold
            hit = any(c == g and s < b1 and e > b0 for c, s, e in spans)
            tp[g] += hit
            fn[g] += not hit
            k = (g, "spoken" if spoken else "written")
            by_form.setdefault(k, [0, 0])
            by_form[k][0] += hit
            by_form[k][1] += 1
        for c, s, e in spans:
            if not (gold and c == gold[0] and s < gold[2] and e > gold[1]):
                fp[c] += 1
        if shown < a.show and ((gold and not hit) or any(not (gold and c == gold[0]) for c, _, _ in spans)):
            print(f"  {'MISS' if gold and not hit else 'FP  '} {gold[0] if gold else '-'}: {text}  ->  {row['redacted']}")
            shown += 1
    res = {"items": len(items), "seed": a.seed, "lines_per_s": len(items) / dt, "categories": {}}
    print(f"{len(items)} lines (seed {a.seed}), {len(items) / dt:,.0f} lines/s")
    print(f"{'category':8} {'recall':>8} {'precision':>10}  (found / gold, false alarms)")
    for c in cats:
        rec = tp[c] / max(tp[c] + fn[c], 1)
        prec = tp[c] / max(tp[c] + fp[c], 1)
        res["categories"][c] = {"recall": rec, "precision": prec, "tp": tp[c], "fn": fn[c], "fp": fp[c]}
        print(f"{c:8} {100 * rec:7.1f}% {100 * prec:9.1f}%  ({tp[c]} / {tp[c] + fn[c]}, {fp[c]})")
    for (c, form), (h, t) in sorted(by_form.items()):
        print(f"  {c} {form}: {h} / {t}")
        res["categories"][c][form] = h / max(t, 1)
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
