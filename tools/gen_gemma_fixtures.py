#!/usr/bin/env python3
"""Reference outputs of llama.cpp on the real Gemma 3 270M file, for tests/test_lm_gemma.c:
tokenization of 1,000 corpus sentences and next-token logits of 20 Korean prompts.

    pip install llama-cpp-python==0.3.36        # llama.cpp itself (built from source by pip)
    pip install -r tools/requirements-reference.txt   # transformers + accelerate: the f32 reference
    bash tools/setup.sh --gemma                 # data/gemma-3-270m-q4_k_m.gguf
    python3 tools/gen_gemma_fixtures.py --model data/gemma-3-270m-q4_k_m.gguf \
        --corpus ../shared/data/text/ko_corpus.tsv.xz --out tests/fixtures/lm

gemma_tokens.tsv: for every 1,000th line of the corpus (1,000 lines), its line number (0 = the
first sentence after the header) and llama.cpp's tokens of its text (BOS first, special tokens not
parsed), space-separated. The corpus text itself is not copied: the test reads it from the shared
data, as this script does.
gemma_logits.bin (little-endian): int32 n_prompts, int32 n_vocab, int32 k; then per prompt: int32
n_tokens, its tokens (int32), and per position: int32 llama.cpp's top-1 id, int32 the top-1 id of
Hugging Face transformers on the same file (its weights dequantized, f32 all through: the
reference without 8-bit activations or an f16 cache), f32 llama.cpp's log-sum-exp of all logits,
the k ids (int32) and logits (f32) of llama.cpp's k largest logits there.
The prompts are the project's own sentences (below).
"""
import argparse
import lzma
import os
import struct

import numpy as np
from llama_cpp import Llama

PROMPTS = [
    "안녕하세요, 고객센터입니다. 무엇을 도와드릴까요?",
    "오늘 서울의 날씨는 맑고 기온은 영상 십 도입니다.",
    "카드 분실 신고를 하려고 전화했어요.",
    "주문하신 상품은 내일 오후에 도착할 예정입니다.",
    "잠시만 기다려 주시면 상담원을 연결해 드리겠습니다.",
    "이번 달 요금이 평소보다 많이 나왔는데 확인해 주실 수 있나요?",
    "비밀번호를 다섯 번 잘못 입력하셔서 계정이 잠겼습니다.",
    "한국어 음성 인식은 띄어쓰기와 조사 때문에 어렵습니다.",
    "회의는 다음 주 화요일 오전 열 시로 옮기겠습니다.",
    "배송지 주소를 변경하고 싶은데 어떻게 해야 하나요?",
    "지금 통화 가능하신가요? 확인할 내용이 몇 가지 있습니다.",
    "환불은 영업일 기준으로 삼 일에서 오 일 정도 걸립니다.",
    "인공지능 스피커에게 음악을 틀어 달라고 말했다.",
    "서울역에서 부산역까지 가는 기차표를 예매하고 싶어요.",
    "고객님의 소중한 의견을 반영하여 서비스를 개선하겠습니다.",
    "어제 본 영화는 생각보다 훨씬 재미있었다.",
    "통장 잔액이 부족하여 자동이체가 처리되지 않았습니다.",
    "이 문장은 언어 모델의 점수를 확인하기 위한 예시입니다.",
    "상담 내용은 서비스 품질 향상을 위해 녹음될 수 있습니다.",
    "감사합니다. 좋은 하루 보내세요.",
]


def corpus_lines(path):
    with lzma.open(path, "rt", encoding="utf-8", newline="\n") as f:  # \r inside a line is text
        next(f)  # header
        for i, line in enumerate(f):
            yield i, line.rstrip("\n").split("\t", 2)[2]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--top", type=int, default=32)
    a = ap.parse_args()
    llm = Llama(model_path=a.model, n_ctx=256, n_batch=256, logits_all=True, n_threads=2, verbose=False)
    with open(os.path.join(a.out, "gemma_tokens.tsv"), "w", encoding="utf-8") as f:
        n = 0
        for i, text in corpus_lines(a.corpus):
            if i % a.every:
                continue
            ids = llm.tokenize(text.encode("utf-8"), add_bos=True, special=False)
            f.write(f"{i}\t{' '.join(map(str, ids))}\n")
            n += 1
            if n == 1000:
                break
    n_vocab = llm.n_vocab()
    import tempfile

    import torch
    from transformers import AutoModelForCausalLM
    d = tempfile.mkdtemp()
    os.symlink(os.path.abspath(a.model), os.path.join(d, "m.gguf"))
    hf = AutoModelForCausalLM.from_pretrained(d, gguf_file="m.gguf", dtype=torch.float32)
    hf.eval()
    with open(os.path.join(a.out, "gemma_logits.bin"), "wb") as f:
        f.write(struct.pack("<iii", len(PROMPTS), n_vocab, a.top))
        for p in PROMPTS:
            ids = llm.tokenize(p.encode("utf-8"), add_bos=True, special=False)
            llm.reset()
            llm.eval(ids)
            logits = np.array(llm.scores[: len(ids)], dtype=np.float64)
            with torch.no_grad():
                hf_top = hf(torch.tensor([ids])).logits[0].argmax(-1).tolist()
            f.write(struct.pack("<i", len(ids)))
            f.write(np.array(ids, dtype="<i4").tobytes())
            for row, ht in zip(logits, hf_top):
                top = np.argsort(-row)[: a.top]
                mx = row.max()
                lse = mx + np.log(np.exp(row - mx).sum())
                f.write(struct.pack("<iif", int(top[0]), int(ht), float(lse)))
                f.write(top.astype("<i4").tobytes())
                f.write(row[top].astype("<f4").tobytes())
    print(f"wrote {n} tokenized lines and {len(PROMPTS)} prompts' logits to {a.out}")


if __name__ == "__main__":
    main()
