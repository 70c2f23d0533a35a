#!/usr/bin/env python3
"""Labels for sori's abusive-speech classifier: reads the public datasets from
their git repositories (bare clones), maps their labels onto sori's
categories, holds out a test split per source and writes

  OUT/{source}.{train,valid,test}.tsv   text <TAB> categories (comma-separated, or "ok") <TAB> source label
  OUT/apeach.test.tsv                   evaluation only, never trained or tuned on
  OUT/provenance.json                   repository, commit, licence, file, counts

    python3 tools/moderate/prepare.py --out /tmp/moderate/data \\
        --kocohub GITDIR --hatescore GITDIR --kote GITDIR --apeach GITDIR

Categories (sori): profanity, insult, threat, hate; a text with none is "ok".
The mapping (docs/text.md, "Abusive speech", has the table):
  kocohub/korean-hate-speech  hate=none -> ok; offensive -> insult;
                              hate -> insult, and hate too when bias is gender/others
  sgunderscore/hatescore      Clean -> ok; 단순 악플 (plain malicious comment) -> insult;
                              혐오발언 (hate speech, any group) -> hate + insult
  searle-j/KOTE (emotions)    증오/혐오 + 우쭐댐/무시함 + 한심함 all given -> insult;
                              none of the hostile emotions -> ok; the rest dropped
  jason9693/APEACH            Default -> ok, Spoiled -> abusive (binary; test only)
  threat templates (written here) THREAT_VPS x THREAT_TARGETS -> threat;
                              THREAT_LOOKALIKES -> ok; split by template
No source labels profanity or threats: those two come from the lexicons
below, applied to every text of the three sources (weak labels; the
classifier learns them and their spelling variants from the n-grams), and
from the threat templates.
Held-out test splits: kocohub's dev.tsv (its test labels are withheld for
Kaggle), KOTE's test.tsv, and for HateScore (no split) 10 % drawn with
numpy RandomState(17), stratified by macro label. Validation (for the
regularization and thresholds): 10 % of each training part, RandomState(18).
Training texts that also occur in any test set or in APEACH are dropped.
"""
import argparse
import csv
import io
import json
import os
import re
import subprocess
import sys

import numpy as np

CATS = ["profanity", "insult", "threat", "hate"]

# Spaces are removed before these are matched (people split words to evade filters).
PROFANITY = re.compile(
    "씨발|씨바|시발(?!점)|씨빨|쉬발|십발|ㅅㅂ|ㅆㅂ|씹|좆|좃|존나|졸라|존니|ㅈㄴ|ㅈ같|개새|개색|개섀|새끼|색기|섀끼|"
    "병신|븅신|빙신|ㅂㅅ|지랄|ㅈㄹ|염병|썅|니미|느금|니애미|니애비|애미|애비|엠창|등신|호로|닥쳐|닥치|꺼져|"
    "미친놈|미친년|미친새|미친것|ㅁㅊ|개같|개소리|개지랄|쌍놈|쌍년|썅년|걸레|창녀|보지|자지|좇|ㅗ")
THREAT = re.compile(
    "죽여버|죽여줄까|죽이겠|죽인다|죽일거|죽일꺼|패버리|패죽|때려죽|찔러죽|칼로찔|칼빵|쏴죽|묻어버|"
    "가만안두|가만안둬|가만두지않|찾아가서|찾아간다|밤길조심|목을따|목따|불질러|불태워버|매장시켜|"
    "손봐줄|죽고싶냐|죽고싶어\\?|뒤지고싶냐|뒤질래|뒤지게맞")

KOTE_LABELS = ['불평/불만', '환영/호의', '감동/감탄', '지긋지긋', '고마움', '슬픔', '화남/분노', '존경', '기대감',
               '우쭐댐/무시함', '안타까움/실망', '비장함', '의심/불신', '뿌듯함', '편안/쾌적', '신기함/관심', '아껴주는',
               '부끄러움', '공포/무서움', '절망', '한심함', '역겨움/징그러움', '짜증', '어이없음', '없음', '패배/자기혐오',
               '귀찮음', '힘듦/지침', '즐거움/신남', '깨달음', '죄책감', '증오/혐오', '흐뭇함(귀여움/예쁨)', '당황/난처',
               '경악', '부담/안_내킴', '서러움', '재미없음', '불쌍함/연민', '놀람', '행복', '불안/걱정', '기쁨', '안심/신뢰']
KOTE_HOSTILE = {'화남/분노', '우쭐댐/무시함', '한심함', '역겨움/징그러움', '짜증', '증오/혐오', '지긋지긋', '어이없음',
                '불평/불만'}
KOTE_INSULT = {'증오/혐오', '우쭐댐/무시함', '한심함'}


def git_show(gitdir, path):
    return subprocess.run(["git", "--git-dir", gitdir, "show", f"HEAD:{path}"], check=True,
                          capture_output=True).stdout.decode("utf-8")


def git_head(gitdir):
    return subprocess.run(["git", "--git-dir", gitdir, "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()


def clean(text):
    return " ".join(text.replace("\t", " ").split())


def lexicon(text):
    s = re.sub(r"\s+", "", text.lower())
    out = []
    if PROFANITY.search(s):
        out.append("profanity")
    if THREAT.search(s):
        out.append("threat")
    return out


def kocohub(gitdir):
    def read(path):
        rows = []
        for r in csv.DictReader(io.StringIO(git_show(gitdir, path)), delimiter="\t", quoting=csv.QUOTE_NONE):
            if r["hate"] == "none":
                cats = []
            elif r["hate"] == "offensive":
                cats = ["insult"]
            else:
                cats = ["insult", "hate"] if r["bias"] in ("gender", "others") else ["insult"]
            rows.append((clean(r["comments"]), cats, f"{r['hate']}/{r['bias']}"))
        return rows
    return read("labeled/train.tsv"), read("labeled/dev.tsv")


def hatescore(gitdir):
    rows = []
    for r in csv.DictReader(io.StringIO(git_show(gitdir, "HateScore.csv"))):
        macro = r["macrolabel"]
        cats = [] if macro == "Clean" else ["insult"] if macro == "단순 악플" else ["insult", "hate"]
        rows.append((clean(r["comment"]), cats, f"{macro}/{r['microlabel']}"))
    rng = np.random.RandomState(17)
    test_idx = []
    for macro in sorted({r[2].split("/")[0] for r in rows}):
        idx = [i for i, r in enumerate(rows) if r[2].split("/")[0] == macro]
        perm = rng.permutation(len(idx))
        test_idx += [idx[j] for j in perm[:int(round(0.1 * len(idx)))]]
    test_set = set(test_idx)
    return [r for i, r in enumerate(rows) if i not in test_set], [rows[i] for i in sorted(test_set)]


def kote(gitdir):
    def read(path):
        rows, dropped = [], 0
        for line in git_show(gitdir, path).splitlines():
            p = line.split("\t")
            if len(p) < 3:
                continue
            labs = {KOTE_LABELS[int(i)] for i in p[2].split(",") if i}
            if KOTE_INSULT <= labs:
                cats = ["insult"]
            elif not (labs & KOTE_HOSTILE):
                cats = []
            else:
                dropped += 1
                continue
            rows.append((clean(p[1]), cats, "+".join(sorted(labs & KOTE_HOSTILE)) or "none"))
        return rows, dropped
    # train.tsv (40,000 rows) is not in the snapshot the project can reach: val.tsv trains.
    tr, d1 = read("val.tsv")
    te, d2 = read("test.tsv")
    return tr, te, d1, d2


# No source labels threats. These sentences, written for sori (call-center abuse: what a caller
# says to an agent), give the threat head its positives, and the look-alikes beside them
# (slang 죽여주네 "awesome", 밤길 조심히 들어가세요 "get home safe", a repair's 손봐 드릴게요)
# its hard negatives. Templates are split, not sentences: validation and test see unseen ones.
THREAT_TARGETS = ["너", "너 진짜", "당신", "거기 상담원", "니들", "너희 사장", "니 가족", "그쪽", "이 새끼"]
THREAT_VPS = [
    "죽여버린다", "죽여 버릴 거야", "죽일 거야", "가만 안 둔다", "가만두지 않겠다", "찾아가서 가만 안 둘 거야",
    "집 찾아간다", "회사로 찾아갈 거야", "밤길 조심해라", "패 버린다", "때려 죽인다", "칼로 찔러 버린다",
    "목을 따 버린다", "불 질러 버린다", "묻어 버린다", "매장시켜 버릴 거야", "가족 다 죽는다", "얼굴 기억해 둔다",
    "어디 사는지 다 안다", "뒤지게 맞고 싶냐", "죽고 싶냐", "손 좀 봐 줘야겠네", "다리 분질러 버린다",
    "끝장내 버린다", "인생 끝나게 해 줄게", "쥐도 새도 모르게 없애 버린다", "가서 박살 낸다", "총으로 쏴 버린다",
    "평생 후회하게 만들어 준다", "내 손에 죽는다", "찾아가서 두들겨 팰 거야", "밖에서 보자 각오해", "피 보게 해 줄게",
    "숨통을 끊어 놓는다", "사무실 다 때려 부순다"]
THREAT_LOOKALIKES = [
    "이 노래 진짜 죽여주네", "국물 맛이 죽이는데요", "배고파 죽겠어요", "웃겨 죽겠네 진짜", "피곤해 죽을 것 같아요",
    "내일 찾아가서 인사드릴게요", "기사님이 댁으로 찾아가서 설치해 드립니다", "가만히 계셔도 됩니다",
    "칼로 양파를 잘게 썰어 주세요", "벽난로에 불 좀 붙여 줄래", "밤길 조심히 들어가세요", "고장 난 곳 손봐 드릴게요",
    "컴퓨터 좀 손봐 줄 수 있어요", "얼굴 기억해 둘게요 다음에 또 오세요", "어디 사시는지 주소 확인 부탁드립니다",
    "그 영화 총 쏘는 장면이 멋있었어요", "회사로 찾아오시면 안내해 드리겠습니다", "끝까지 책임지고 해결해 드릴게요",
    "다리 다치신 데는 괜찮으세요", "가족분들 모두 건강하세요", "후회 없도록 잘 골라 보세요", "사무실 이사 날짜 알려 주세요",
    "목이 너무 따가워요", "묻어 둔 김치 꺼내 먹자", "게임에서 적을 다 죽였어", "이번 판 완전 박살 났네",
    "숨 좀 돌리고 다시 전화드릴게요", "불 끄고 자자", "칼같이 처리해 주셔서 감사합니다", "끝장나게 맛있다"]
THREAT_PREFIXES = ["", "진짜 ", "내가 ", "두고 봐 ", "한 번만 더 그러면 ", "전화 끊기만 해 봐 "]
THREAT_ENDS = ["", ".", "!", "!!"]


def threat_templates():
    """(train, valid, test) rows; templates i % 5 == 3 validate, i % 5 == 4 test."""
    rng = np.random.RandomState(19)
    parts = ([], [], [])
    for i, vp in enumerate(THREAT_VPS):
        k = 1 if i % 5 == 3 else 2 if i % 5 == 4 else 0
        for t in THREAT_TARGETS:
            pre = THREAT_PREFIXES[rng.randint(len(THREAT_PREFIXES))]
            end = THREAT_ENDS[rng.randint(len(THREAT_ENDS))]
            parts[k].append((f"{pre}{t} {vp}{end}", ["threat"], f"threat-template-{i}"))
    for i, s in enumerate(THREAT_LOOKALIKES):
        k = 1 if i % 5 == 3 else 2 if i % 5 == 4 else 0
        for end in THREAT_ENDS[:3]:
            parts[k].append((f"{s}{end}", [], f"lookalike-{i}"))
    return parts


def apeach(gitdir):
    rows = []
    for r in csv.DictReader(io.StringIO(git_show(gitdir, "APEACH/test.csv"))):
        rows.append((clean(r["text"]), [] if r["class"] == "Default" else ["abusive"], r["class"]))
    return rows


def split_valid(rows, seed=18, frac=0.1):
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(rows))
    nv = int(round(frac * len(rows)))
    v = set(perm[:nv].tolist())
    return [r for i, r in enumerate(rows) if i not in v], [r for i, r in enumerate(rows) if i in v]


def write(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for text, cats, src in rows:
            if text:
                f.write(f"{text}\t{','.join(cats) or 'ok'}\t{src}\n")


def counts(rows):
    c = {"n": len(rows), "ok": sum(1 for r in rows if not r[1])}
    for cat in CATS + ["abusive"]:
        n = sum(1 for r in rows if cat in r[1])
        if n:
            c[cat] = n
    return c


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    m = "/work/.mirror/{}/repo"
    ap.add_argument("--kocohub", default=m.format("kocohub+korean-hate-speech"))
    ap.add_argument("--hatescore", default=m.format("sgunderscore+hatescore-korean-hate-speech"))
    ap.add_argument("--kote", default=m.format("searle-j+KOTE"))
    ap.add_argument("--apeach", default=m.format("jason9693+APEACH"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)

    sources = {}
    k_tr, k_te = kocohub(a.kocohub)
    sources["kocohub"] = dict(repo="kocohub/korean-hate-speech", commit=git_head(a.kocohub), licence="CC BY-SA 4.0",
                              train_file="labeled/train.tsv", test_file="labeled/dev.tsv", train=k_tr, test=k_te)
    h_tr, h_te = hatescore(a.hatescore)
    sources["hatescore"] = dict(repo="sgunderscore/hatescore-korean-hate-speech", commit=git_head(a.hatescore),
                                licence="Apache-2.0", train_file="HateScore.csv (90 %)",
                                test_file="HateScore.csv (10 %, RandomState(17), stratified)", train=h_tr, test=h_te)
    t_tr, t_te, d1, d2 = kote(a.kote)
    sources["kote"] = dict(repo="searle-j/KOTE", commit=git_head(a.kote), licence="MIT",
                           train_file="val.tsv (train.tsv absent from the reachable snapshot)", test_file="test.tsv",
                           train=t_tr, test=t_te, dropped_ambiguous={"val.tsv": d1, "test.tsv": d2})
    ap_rows = apeach(a.apeach)

    th_tr, th_va, th_te = threat_templates()
    sources["threats"] = dict(repo="(written for sori: tools/moderate/prepare.py)", commit="-", licence="Apache-2.0",
                              train_file="THREAT_VPS / THREAT_LOOKALIKES, templates i % 5 in 0-2",
                              test_file="templates i % 5 == 4 (3 validates)", train=th_tr + th_va, test=th_te)
    held = {r[0] for s in sources.values() for r in s["test"]} | {r[0] for r in ap_rows}
    prov = {"categories": CATS, "sources": {}}
    for name, s in sources.items():
        n0 = len(s["train"])
        lex = lexicon if name != "threats" else (lambda t: [c for c in lexicon(t) if c != "threat"])
        train = [(t, sorted(set(c) | set(lex(t)), key=CATS.index), src) for t, c, src in s["train"] if t not in held]
        test = [(t, sorted(set(c) | set(lex(t)), key=CATS.index), src) for t, c, src in s["test"]]
        if name == "threats":
            tr, va = [r for r in train if r not in th_va], [r for r in train if r in th_va]
        else:
            tr, va = split_valid(train)
        write(f"{a.out}/{name}.train.tsv", tr)
        write(f"{a.out}/{name}.valid.tsv", va)
        write(f"{a.out}/{name}.test.tsv", test)
        p = {k: v for k, v in s.items() if k not in ("train", "test")}
        p.update(train_counts=counts(tr), valid_counts=counts(va), test_counts=counts(test),
                 dropped_overlap_with_test=n0 - len(train))
        prov["sources"][name] = p
    write(f"{a.out}/apeach.test.tsv", ap_rows)
    prov["sources"]["apeach"] = dict(repo="jason9693/APEACH", commit=git_head(a.apeach), licence="CC BY-SA 4.0",
                                     test_file="APEACH/test.csv", use="evaluation only", test_counts=counts(ap_rows))
    with open(f"{a.out}/provenance.json", "w") as f:
        json.dump(prov, f, ensure_ascii=False, indent=1)
    json.dump(prov, sys.stdout, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
