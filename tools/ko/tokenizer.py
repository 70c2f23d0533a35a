#!/usr/bin/env python3
"""SentencePiece tokenizer for the bundled Korean model.

    python3 tools/ko/tokenizer.py --text DIR --out DIR [--vocab 3000]

Trains a unigram model on DIR/train.tsv (third column) with character
coverage 1.0, so every Hangul syllable of the training split is a unit of its
own (about 2,250 after cleaning); the remaining units are the most useful
multi-syllable pieces and word-initial variants. Why about 3,000: syllables
must all be there (a jamo or byte fallback would emit 2-3 units per syllable,
too many for 12.5 CTC frames per second at 8x subsampling), and a much larger
vocabulary spends output-layer parameters on pieces seen a handful of times.
Writes DIR/tokenizer.model, DIR/tokenizer.vocab and DIR/vocab.txt (NeMo's layout).
"""
import argparse
import os

import sentencepiece as spm


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", type=int, default=3000)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    plain = os.path.join(a.out, "train.txt")
    with open(os.path.join(a.text, "train.tsv"), encoding="utf-8") as f, open(plain, "w", encoding="utf-8") as g:
        for line in f:
            g.write(line.rstrip("\n").split("\t")[2] + "\n")
    spm.SentencePieceTrainer.train(
        input=plain, model_prefix=os.path.join(a.out, "tokenizer"), vocab_size=a.vocab,
        model_type="unigram", character_coverage=1.0, input_sentence_size=2000000,
        shuffle_input_sentence=True, seed_sentencepiece_size=1000000, num_threads=2,
        byte_fallback=False, unk_id=0, bos_id=-1, eos_id=-1, pad_id=-1, minloglevel=2)
    os.remove(plain)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(a.out, "tokenizer.model"))
    with open(os.path.join(a.out, "vocab.txt"), "w", encoding="utf-8") as f:  # NeMo wants it too
        for i in range(sp.get_piece_size()):
            f.write(sp.id_to_piece(i) + "\n")
    with open(os.path.join(a.text, "dev.tsv"), encoding="utf-8") as f:
        lines = [l.rstrip("\n").split("\t")[2] for l in f]
    n_tok = sum(len(sp.encode(l)) for l in lines)
    n_syl = sum(len(l.replace(" ", "")) for l in lines)
    print(f"vocab {sp.get_piece_size()}; dev: {n_tok / n_syl:.3f} tokens per syllable")


if __name__ == "__main__":
    main()
