#!/usr/bin/env python3
"""Fixtures of tests/test_bpe_vocab.c: a small byte-level BPE vocabulary (tokenizer.ggml.model
"gpt2", as llama.cpp's converter writes Llama 3 and Qwen 2 vocabularies) and the token ids Hugging
Face `tokenizers` gives for test texts with Llama 3's and Qwen 2's pre-tokenizers.

    pip install tokenizers==0.23.3 gguf==0.19.0
    python3 tools/gen_bpe_fixtures.py --corpus ../shared/data/text/ko_corpus.tsv.xz --out tests/fixtures/lm

The vocabulary (768 tokens and a control token) is trained by `tokenizers`' BPE trainer on 4,000
lines of the project's training corpus (every 100th line from line 500,000 on) and written as
bpe_PRE.gguf (PRE: llama, qwen2) holding only the tokenizer keys. bpe_PRE.tsv: one line per test
text: where it comes from ("own:HEX", the text's UTF-8 in hex, for the project's own texts below,
or "corpus:N" for line N of the corpus, which the test reads from the shared data: the corpus is
not copied), a tab, the expected ids.
"""
import argparse
import json
import lzma
import os

from gguf import GGUFWriter
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

PATTERNS = {
    "llama-bpe": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
             r"|\s*[\r\n]+|\s+(?!\S)|\s+",
}

OWN = [
    "안녕하세요, 고객센터입니다.",
    "I'M sure it's fine, isn't it? They'LL see; we'd go.",
    "Call 010-1234-5678 or 1588 1234 before 12:30.",
    "가격은 35,000원이고 3명이 1234567 번 왔다",
    "  leading spaces and   runs of   spaces  ",
    "tabs\tand\nnew lines\n\n  \n indented\r\nwindows",
    "...!? --- ~~~ (괄호) [대괄호] {중괄호}",
    "emoji 😀 and symbols ™ © ½ ² ³",
    "mixed한국어English123숫자",
    "\n\n\n",
    "a",
    "",
    "x   \n",
    "'s 's 'S 'Ll",
]


def corpus_lines(path, start, step, count):
    with lzma.open(path, "rt", encoding="utf-8", newline="\n") as f:
        next(f)
        for i, line in enumerate(f):
            if i >= start and (i - start) % step == 0:
                yield i, line.rstrip("\n").split("\t", 2)[2]
                count -= 1
                if count == 0:
                    return


def build(pattern, train_texts):
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=768, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(train_texts, trainer)
    return tok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    train = [t for _, t in corpus_lines(a.corpus, 500000, 100, 4000)]
    tests = list(corpus_lines(a.corpus, 900001, 997, 300))
    # one vocabulary, trained with Llama 3's pattern, written with each pre-tokenizer
    tok = build(PATTERNS["llama-bpe"], train)
    model = json.loads(tok.to_str())["model"]
    vocab = model["vocab"]
    tokens = [None] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    merges = [" ".join(m) if isinstance(m, list) else m for m in model["merges"]]
    tokens.append("<|begin_of_text|>")
    types = [1] * (len(tokens) - 1) + [3]
    for pre, pattern in PATTERNS.items():
        name = "llama" if pre == "llama-bpe" else pre
        w = GGUFWriter(os.path.join(a.out, f"bpe_{name}.gguf"), "llama")
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_list(tokens)
        w.add_token_types(types)
        w.add_token_merges(merges)
        w.add_bos_token_id(len(tokens) - 1)
        w.add_add_bos_token(True)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        t2 = Tokenizer.from_str(tok.to_str())
        t2.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
        with open(os.path.join(a.out, f"bpe_{name}.tsv"), "w", encoding="utf-8") as f:
            for k, text in enumerate(OWN):
                f.write(f"own:{text.encode('utf-8').hex()}\t{' '.join(map(str, t2.encode(text).ids))}\n")
            for i, text in tests:
                f.write(f"corpus:{i}\t{' '.join(map(str, t2.encode(text).ids))}\n")
        print(f"{pre}: {len(tokens)} tokens, {len(merges)} merges, {len(OWN) + len(tests)} texts")


if __name__ == "__main__":
    main()
