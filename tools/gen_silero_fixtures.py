#!/usr/bin/env python3
"""Reference speech probabilities of Silero VAD from onnxruntime (the
upstream runtime of the model silero-vad ships), for tests/test_silero_vad.c:

    pip install -r tools/requirements-silero.txt
    python3 tools/gen_silero_fixtures.py silero_vad.onnx tests/fixtures/silero

The input is the bundled sample data/samples/ko_16k_statement.wav (PCM16:
float = int / 32768, as sori reads it) at 16 kHz, and every second sample of
it at 8 kHz, after 0.5 s of silence and a 0.3 s tone-and-noise burst (so the
probabilities cover silence, noise and speech). Windows are fed as
silero-vad's OnnxWrapper feeds them: the previous window's last `context`
samples (zeros at first) before each window of new samples, the LSTM state
carried. Writes probs_16k.f32 and probs_8k.f32 (one float32 per window) and
prints the onnxruntime version (pinned in tools/requirements-silero.txt).
"""
import os
import sys
import wave

import numpy as np
import onnxruntime as ort

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def signal_16k():
    with wave.open(os.path.join(ROOT, "data/samples/ko_16k_statement.wav")) as w:
        assert w.getframerate() == 16000 and w.getsampwidth() == 2 and w.getnchannels() == 1
        x = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768.0
    return prefix(16000, x)


def prefix(rate, x):
    """0.5 s of silence, 0.3 s of a tone with noise, then x (the same
    construction as test_silero_vad.c's, in float32)."""
    n_sil, n_burst = rate // 2, rate * 3 // 10
    t = np.arange(n_burst, dtype=np.float64)
    burst = 0.2 * np.sin(2 * np.pi * 440.0 * t / rate) + 0.05 * np.sin(2 * np.pi * 3.0 * t / rate + 1.0 * (t % 7))
    return np.concatenate([np.zeros(n_sil, np.float32), burst.astype(np.float32), x])


def run(sess, x, rate, window, context):
    state = np.zeros((2, 1, 128), np.float32)
    ctx = np.zeros(context, np.float32)
    probs = []
    for i in range(0, len(x) - window + 1, window):
        inp = np.concatenate([ctx, x[i:i + window]])[None, :].astype(np.float32)
        out, state = sess.run(None, {"input": inp, "state": state, "sr": np.array(rate, dtype=np.int64)})
        probs.append(out[0, 0])
        ctx = inp[0, -context:]
    return np.array(probs, dtype="<f4")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    onnx_path, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    x16 = signal_16k()
    x8 = x16[::2].copy()
    p16 = run(sess, x16, 16000, 512, 64)
    p8 = run(sess, x8, 8000, 256, 32)
    p16.tofile(os.path.join(out, "probs_16k.f32"))
    p8.tofile(os.path.join(out, "probs_8k.f32"))
    print(f"onnxruntime {ort.__version__}: {len(p16)} windows at 16 kHz (max {p16.max():.3f}), "
          f"{len(p8)} at 8 kHz (max {p8.max():.3f})")


if __name__ == "__main__":
    main()
