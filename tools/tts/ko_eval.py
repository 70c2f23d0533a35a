#!/usr/bin/env python3
"""Intelligibility of Korean spoken through Kokoro: synthesize sentences with
onnxruntime (tools/tts/ko_ipa.py's mapping), transcribe them with sori's Whisper,
report the character error rate.

    python3 tools/tts/ko_eval.py --onnx kokoro.onnx --voices voices_ja.npz \
        [--variant base] [--voice jf_alpha] [--sentences FILE] [--out /tmp/ko]

CER is over Hangul syllables and digits only (spaces and punctuation ignored),
summed over the sentences. WAVs are left in --out (never commit them). Without
--sentences, the eight phrases of docs/tts-kokoro.md are used.
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tools", "ko"))
import ko_ipa  # noqa: E402
from cer import edit_distance  # noqa: E402

SENTENCES = ["오늘 날씨가 정말 좋네요.", "안녕하세요, 만나서 반갑습니다.", "내일 아침 아홉 시에 회의가 있습니다.",
             "이 버스는 서울역으로 갑니다.", "주문하신 커피 나왔습니다.", "잠시만 기다려 주세요.",
             "도움이 필요하시면 말씀해 주세요.", "전화번호를 다시 한 번 확인해 주시겠어요?"]


def keep(text):
    return "".join(c for c in text if "\uac00" <= c <= "\ud7a3" or c.isdigit())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--voices", required=True)
    ap.add_argument("--vocab")
    ap.add_argument("--variant", default="base", choices=["base", "plain", "novoice"])
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--sentences", help="a file, one sentence a line")
    ap.add_argument("--whisper", default=os.path.join(ROOT, "data", "whisper-base-f16.gguf"))
    ap.add_argument("--out", default="/tmp/kokoro-ko")
    a = ap.parse_args()
    sents = SENTENCES if not a.sentences else [s.strip() for s in open(a.sentences, encoding="utf-8") if s.strip()]
    vocab = ko_ipa.load_vocab(a.vocab)
    sori = os.path.join(ROOT, "build", "bin", "sori")
    os.makedirs(a.out, exist_ok=True)
    errors = chars = 0
    for i, text in enumerate(sents):
        ipa = ko_ipa.hangul_to_ipa(ko_ipa.front_end(text, sori), a.variant)
        wav = os.path.join(a.out, f"{a.variant}_{a.voice}_{i:03d}.wav")
        ko_ipa.write_wav(wav, ko_ipa.synthesize(ko_ipa.to_ids(ipa, vocab), a.onnx, a.voices, a.voice))
        r = subprocess.run([sori, "transcribe", "--model", a.whisper, "--language", "ko", "--threads", "2", wav],
                           capture_output=True, text=True)
        hyp = r.stdout.strip()
        e = edit_distance(keep(text), keep(hyp))
        errors += e
        chars += len(keep(text))
        print(f"{e:3d}/{len(keep(text)):3d}  {text} | {ipa} | {hyp}")
    print(f"variant {a.variant}, voice {a.voice}: CER {100 * errors / max(chars, 1):.1f} % ({errors}/{chars})")


if __name__ == "__main__":
    main()
