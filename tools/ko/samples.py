#!/usr/bin/env python3
"""The bundled sample clips in data/samples/, spoken from test-split sentences.

    python3 tools/ko/samples.py --text DIR/test.tsv [--out data/samples]

Three sentences of the test split (never trained on), spoken by held-out
espeak-ng voices through tools/ko/synth.py's pronounce-then-speak path: two
16 kHz 16-bit WAV files and one 8 kHz G.711 mu-law WAV (a phone call's
format). Deterministic. Writes OUT/*.wav and OUT/samples.tsv (file, text,
source, licence).
"""
import argparse
import os
import sys

import numpy as np
import soxr

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synth  # noqa: E402

SAMPLES = [  # file, sentence, channel
    ("ko_16k_question.wav", "올해 설날이 며칠인지 알려줄 수 있니", "clean"),
    ("ko_16k_statement.wav", "각 층에 화장실과 샤워룸이 따로 있습니다", "clean"),
    ("ko_8k_ulaw_call.wav", "반품 처리 관련 이메일 왔는지 확인해봐", "phone"),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--text", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data",
                                                  "samples"))
    a = ap.parse_args()
    rows = {}
    with open(a.text, encoding="utf-8") as f:
        for line in f:
            src, lic, text = line.rstrip("\n").split("\t")
            rows[text] = (src, lic)
    os.makedirs(a.out, exist_ok=True)
    texts = [t for _, t, _ in SAMPLES]
    for t in texts:
        if t not in rows:
            sys.exit(f"samples.py: '{t}' is not in the test split {a.text}")
    utt = synth.Utterances(texts, 20261128, synth.HELD_OUT)
    with open(os.path.join(a.out, "samples.tsv"), "w", encoding="utf-8") as man:
        man.write("file\ttext\tsource\tlicence\n")
        for i, (name, text, channel) in enumerate(SAMPLES):
            _, x, sr, meta = utt.clean(i)
            x = soxr.resample(x, sr, synth.SR).astype(np.float32)
            x = np.concatenate([np.zeros(4000, np.float32), x, np.zeros(4000, np.float32)])
            x *= 0.5 / (np.max(np.abs(x)) + 1e-9)
            path = os.path.join(a.out, name)
            if channel == "phone":
                y = synth.bandpass(soxr.resample(x, synth.SR, 8000), 8000, 300, 3400)
                synth.write_wav(path, y, 8000, "ulaw")
            else:
                synth.write_wav(path, x, synth.SR)
            src, lic = rows[text]
            man.write(f"{name}\t{text}\t{src}\t{lic}\n")
            print(f"{path}: {text} ({meta['voice']}, rate {meta['rate']})")


if __name__ == "__main__":
    main()
