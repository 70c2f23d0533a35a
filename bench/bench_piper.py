#!/usr/bin/env python3
"""Speed of sori's VITS engine against onnxruntime on the same Piper voice:
a random-weight Piper model of a real voice's size, built by Piper's own
training code and exported to ONNX as Piper exports it
(tools/gen_piper_fixtures.py), converted by tools/piper_to_gguf.py. Both run
the same phoneme ids with noise_scale = noise_w = 0 (Piper's graph draws its
noise inside; with the scales at 0 both do exactly the same work and their
audio can be compared), the same number of threads, medians of --runs × --blocks
timed calls in alternating blocks, after a warm-up.

Sizes (--size): medium = Piper's default voices (hidden 192, ResBlock2
3/5/7, upsampling 8·8·4 from 256 channels, 22,050 Hz, stochastic durations);
high = Piper's "high" voices (ResBlock1 3/7/11, 8·8·2·2 from 512 channels:
MMS-TTS's generator).

    pip install -r tools/requirements-piper.txt
    python3 bench/bench_piper.py --piper-src PIPER/src/python --lib build/lib/libsori.so \\
        [--size medium|high] [--threads 2] [--phonemes 100] [--runs 5] [--blocks 3]

Not a test: numbers depend on the machine (docs/tts.md has the measured ones).
"""
import argparse
import ctypes as C
import os
import statistics
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
sys.path.insert(0, HERE)
import gen_piper_fixtures as gen  # noqa: E402
import piper_to_gguf  # noqa: E402
from bench_vits import Error, sori_api  # noqa: E402

SIZES = {
    "medium": dict(resblock="2", resblock_kernel_sizes=(3, 5, 7), resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
                   upsample_rates=(8, 8, 4), upsample_initial_channel=256, upsample_kernel_sizes=(16, 16, 8)),
    "high": dict(resblock="1", resblock_kernel_sizes=(3, 7, 11), resblock_dilation_sizes=((1, 3, 5),) * 3,
                 upsample_rates=(8, 8, 2, 2), upsample_initial_channel=512, upsample_kernel_sizes=(16, 16, 4, 4)),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--piper-src", required=True)
    ap.add_argument("--lib", default=os.path.join(HERE, "..", "build", "lib", "libsori.so"))
    ap.add_argument("--size", default="medium", choices=list(SIZES))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--phonemes", type=int, default=100)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    models = gen.import_piper(a.piper_src)
    kw = dict(n_vocab=len(gen.SYMBOLS) + 4, spec_channels=513, segment_size=8192, inter_channels=192,
              hidden_channels=192, filter_channels=768, n_heads=2, n_layers=6, kernel_size=3, p_dropout=0.0,
              n_speakers=1, gin_channels=0, use_sdp=True, **SIZES[a.size])
    torch.manual_seed(3)
    model = models.SynthesizerTrn(**kw).eval()
    gen.randomize(model, 3, 192, kw["upsample_rates"])
    rng = np.random.default_rng(3)
    ids = gen.piper_ids([gen.SYMBOLS[i] for i in rng.integers(3, len(gen.SYMBOLS), a.phonemes)])
    tmp = tempfile.mkdtemp()
    onnx_path = os.path.join(tmp, "voice.onnx")
    gen.export(model, onnx_path, kw["n_vocab"], 1)
    cfg = gen.config_json("bench", 1)
    cfg["audio"]["sample_rate"] = 22050
    import json
    json.dump(cfg, open(onnx_path + ".json", "w"))
    gguf = os.path.join(tmp, "voice.gguf")
    piper_to_gguf.convert(onnx_path, onnx_path + ".json", gguf)

    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    feed = {"input": np.array([ids], np.int64), "input_lengths": np.array([len(ids)], np.int64),
            "scales": np.array([0.0, 1.0, 0.0], np.float32)}

    def ort_once():
        return sess.run(None, feed)[0].reshape(-1)

    lib = sori_api(a.lib)
    err = Error()
    rp = lib.sori_runtime_default_params()
    rp.device, rp.n_threads, rp.pool_bytes = 0, a.threads, 1 << 20
    rt, voice, synth = C.c_void_p(), C.c_void_p(), C.c_void_p()
    assert lib.sori_runtime_create(C.byref(rp), C.byref(rt), C.byref(err)) == 0, err.message
    assert lib.sori_tts_voice_load(rt, gguf.encode(), C.byref(voice), C.byref(err)) == 0, err.message
    sp = lib.sori_tts_synth_default_params(voice)
    sp.noise_scale, sp.noise_scale_duration, sp.length_scale = 0.0, 0.0, 1.0
    assert lib.sori_tts_synth_create(voice, C.byref(sp), C.byref(synth), C.byref(err)) == 0, err.message
    ids_c = np.array(ids, np.int32)
    ids_p = ids_c.ctypes.data_as(C.POINTER(C.c_int32))
    wave_p, n = C.POINTER(C.c_float)(), C.c_int64()

    def sori_once():
        st = lib.sori_tts_synth_tokens(synth, ids_p, len(ids), None, C.byref(wave_p), C.byref(n), C.byref(err))
        assert st == 0, err.message
        return np.ctypeslib.as_array(wave_p, shape=(n.value,))

    ref = ort_once()
    got = sori_once().copy()
    rel = float(np.linalg.norm(got - ref) / np.linalg.norm(ref)) if got.size == ref.size else float("nan")
    seconds = ref.size / 22050
    t_ort, t_sori = [], []
    for _ in range(a.blocks):
        for _ in range(a.runs):
            t0 = time.perf_counter()
            ort_once()
            t_ort.append(time.perf_counter() - t0)
        for _ in range(a.runs):
            t0 = time.perf_counter()
            sori_once()
            t_sori.append(time.perf_counter() - t0)
    # streaming: time to the first chunk
    ttfa = []
    lib.sori_tts_synth_cancel.argtypes = [C.c_void_p]
    for _ in range(a.runs):
        total = C.c_int64()
        t0 = time.perf_counter()
        assert lib.sori_tts_synth_begin(synth, ids_p, len(ids), None, C.byref(total), C.byref(err)) == 0
        assert lib.sori_tts_synth_next(synth, C.byref(wave_p), C.byref(n), C.byref(err)) == 0
        ttfa.append(time.perf_counter() - t0)
        lib.sori_tts_synth_cancel(synth)
    lib.sori_tts_synth_free(synth)
    lib.sori_tts_voice_free(voice)
    lib.sori_runtime_free(rt)
    mo, ms = statistics.median(t_ort), statistics.median(t_sori)
    n_par = sum(p.numel() for n_, p in model.named_parameters() if not n_.startswith(("enc_q.", "dp.post")))
    print(f"Piper {a.size} ({n_par / 1e6:.1f} M parameters in inference, random weights): {len(ids)} ids -> "
          f"{ref.size} samples ({seconds:.2f} s at 22,050 Hz), {a.threads} threads, medians of "
          f"{a.runs * a.blocks}; waveform rel-L2 sori vs onnxruntime {rel:.1e}")
    print(f"  onnxruntime {ort.__version__}: {mo * 1000:.0f} ms, RTF {mo / seconds:.3f}")
    print(f"  sori:              {ms * 1000:.0f} ms, RTF {ms / seconds:.3f}  -> onnxruntime / sori = {mo / ms:.2f}")
    print(f"  sori streaming ({sp.chunk_frames}-frame chunks): first audio after "
          f"{statistics.median(ttfa) * 1000:.0f} ms")
    print(f"  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")


if __name__ == "__main__":
    main()
