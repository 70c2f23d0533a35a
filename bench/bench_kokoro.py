#!/usr/bin/env python3
"""Kokoro-82M speed: sori's C engine against onnxruntime on the same int8 ONNX file, the same
phoneme ids and style row, the same number of threads, in one run.

    python3 bench/bench_kokoro.py --onnx kokoro.onnx --voices voices_ja.npz [--threads 2]
                                  [--runs 5] [--blocks 2] [--voice jf_alpha]

Three Korean inputs (short, medium, long) go through sori's front end once (`Voice.tokenize`:
normalize → g2p → IPA); then, in alternating blocks, sori synthesizes them in process
(`sori.Voice.synthesize`, the Python binding over sori_tts_synth_tokens, build/python) and
onnxruntime runs its session on the same ids (framed by the pad 0) with the same style row
(row n − 1 of the voice for n phonemes). Reported: the median wall time of each over all runs,
the real-time factor (time / audio length), and the ratio onnxruntime / sori (> 1: sori
faster). Time to first audio: onnxruntime makes the whole input before its first sample; sori
streams by pieces (a sentence once it has 16 phonemes, then 40, or a long clause: include/sori/tts.h), so its first audio
comes when the first piece is made — measured here as the time to synthesize that piece's ids
alone (what sori_tts_synth_next does first). Check the load first (`uptime`): nothing else
should run.
"""
import argparse
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "build", "python"))

TEXTS = {
    "short": "네, 알겠습니다.",
    "medium": "고객님, 주문하신 상품은 내일 오후 3시에 도착할 예정입니다.",
    "long": "안녕하세요, 소리 고객센터입니다. 상담원 연결을 원하시면 1번을, 배송 조회는 2번을, "
            "요금 안내는 3번을 눌러 주세요. 다시 들으시려면 별표를 눌러 주세요.",
}


def first_piece(v, x):
    """Where sori ends an input's first piece (tts/tts.c piece_end): after the first sentence mark
    at or after 16 phonemes, or after a clause mark there when its sentence goes on 60 more."""
    sentence, clause = (".", "!", "?", "…"), (",", ";", ":", "—")
    for i in range(15, min(len(x), 510)):
        t = v.vocab[x[i]]
        if t in sentence or t in clause:
            if t in clause:
                j = i + 1
                while j < len(x) and v.vocab[x[j]] not in sentence:
                    j += 1
                if (j + 1 if j < len(x) else len(x)) - (i + 1) < 60:
                    continue
            group = sentence if t in sentence else clause
            while i + 1 < len(x) and v.vocab[x[i + 1]] in group:
                i += 1
            return i + 1
    return len(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--onnx", required=True)
    ap.add_argument("--voices", required=True)
    ap.add_argument("--voice", default="jf_alpha")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=2)
    a = ap.parse_args()
    import numpy as np
    import onnxruntime as ort
    import sori

    v = sori.Voice.load(os.path.join(ROOT, "data", "kokoro-82m.gguf"), threads=a.threads)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    pack = np.load(a.voices)[a.voice]
    ids = {k: v.tokenize(t) for k, t in TEXTS.items()}
    first = {}
    for k, x in ids.items():
        first[k] = x[:first_piece(v, x)]
    times = {k: {"sori": [], "ort": [], "first": []} for k in TEXTS}
    audio = {}

    def run_sori(k):
        t0 = time.perf_counter()
        x = v.synthesize(ids[k], speaker=a.voice)
        times[k]["sori"].append(time.perf_counter() - t0)
        audio[k] = len(x) / 24000
        if len(first[k]) < len(ids[k]):
            t0 = time.perf_counter()
            v.synthesize(first[k], speaker=a.voice)
            times[k]["first"].append(time.perf_counter() - t0)

    def run_ort(k):
        feed = {"tokens": np.array([[0] + ids[k] + [0]], dtype=np.int64),
                "style": pack[len(ids[k]) - 1].reshape(1, -1).astype(np.float32),
                "speed": np.array([1.0], dtype=np.float32)}
        t0 = time.perf_counter()
        sess.run(None, feed)
        times[k]["ort"].append(time.perf_counter() - t0)

    for k in TEXTS:  # warm-up
        run_sori(k)
        run_ort(k)
        times[k] = {"sori": [], "ort": [], "first": []}
    for _ in range(a.blocks):
        for k in TEXTS:
            for _ in range(a.runs):
                run_sori(k)
            for _ in range(a.runs):
                run_ort(k)
    print(f"threads {a.threads}, {a.blocks} blocks × {a.runs} runs each, voice {a.voice}, "
          f"onnxruntime {ort.__version__}")
    print(f"{'input':7s} {'phonemes':>8s} {'audio':>7s} {'sori':>8s} {'RTF':>6s} {'onnxrt':>8s} {'RTF':>6s} "
          f"{'ratio':>6s} {'sori first audio':>17s}")
    for k in TEXTS:
        s = statistics.median(times[k]["sori"])
        o = statistics.median(times[k]["ort"])
        f = statistics.median(times[k]["first"]) if times[k]["first"] else s
        print(f"{k:7s} {len(ids[k]):8d} {audio[k]:6.2f}s {s:7.3f}s {s / audio[k]:6.3f} {o:7.3f}s "
              f"{o / audio[k]:6.3f} {o / s:6.2f} {f:8.3f}s ({len(first[k])} ph)")


if __name__ == "__main__":
    main()
