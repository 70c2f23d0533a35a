#!/usr/bin/env python3
"""Speed of sori's VITS engine against transformers' VitsModel (PyTorch) on
the same random-weight voice of MMS-TTS's size (VitsConfig's defaults: hidden
192, 6 layers, flow 192, stochastic durations, HiFi-GAN 512 channels with
rates 8·8·2·2 and resblocks 3/7/11), the same tokens and the same noise, at
the same number of threads. Real-time factor = synthesis time / audio length
(lower is faster); the best of --runs after a warm-up.

    pip install -r tools/requirements-vits.txt
    cmake --build build --target sori
    python3 bench/bench_vits.py --lib build/lib/libsori.so [--threads 2] [--tokens 101]

Not a test: numbers depend on the machine (docs/tts.md has the measured ones).
"""
import argparse
import ctypes as C
import os
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import gen_vits_fixtures as gen  # noqa: E402
import vits_to_gguf  # noqa: E402


class RuntimeParams(C.Structure):
    _fields_ = [("device", C.c_int), ("device_index", C.c_int), ("n_threads", C.c_int), ("n_streams", C.c_int),
                ("pool_bytes", C.c_size_t)]


class Error(C.Structure):
    _fields_ = [("status", C.c_int), ("backend_code", C.c_int), ("message", C.c_char * 256)]


class SynthParams(C.Structure):
    _fields_ = [("noise_scale", C.c_float), ("noise_scale_duration", C.c_float), ("length_scale", C.c_float),
                ("speaker_id", C.c_int), ("max_tokens", C.c_int), ("max_seconds", C.c_float), ("seed", C.c_uint64),
                ("chunk_frames", C.c_int)]


class Noise(C.Structure):
    _fields_ = [("duration", C.c_void_p), ("prior", C.c_void_p), ("n_prior", C.c_int64)]


def sori_api(path):
    lib = C.CDLL(path)
    lib.sori_runtime_default_params.restype = RuntimeParams
    lib.sori_runtime_create.argtypes = [C.POINTER(RuntimeParams), C.POINTER(C.c_void_p), C.POINTER(Error)]
    lib.sori_runtime_free.argtypes = [C.c_void_p]
    lib.sori_tts_voice_load.argtypes = [C.c_void_p, C.c_char_p, C.POINTER(C.c_void_p), C.POINTER(Error)]
    lib.sori_tts_voice_free.argtypes = [C.c_void_p]
    lib.sori_tts_synth_default_params.argtypes = [C.c_void_p]
    lib.sori_tts_synth_default_params.restype = SynthParams
    lib.sori_tts_synth_create.argtypes = [C.c_void_p, C.POINTER(SynthParams), C.POINTER(C.c_void_p), C.POINTER(Error)]
    lib.sori_tts_synth_free.argtypes = [C.c_void_p]
    lib.sori_tts_synth_tokens.argtypes = [C.c_void_p, C.POINTER(C.c_int32), C.c_int, C.POINTER(Noise),
                                          C.POINTER(C.POINTER(C.c_float)), C.POINTER(C.c_int64), C.POINTER(Error)]
    lib.sori_tts_synth_begin.argtypes = [C.c_void_p, C.POINTER(C.c_int32), C.c_int, C.POINTER(Noise),
                                         C.POINTER(C.c_int64), C.POINTER(Error)]
    lib.sori_tts_synth_next.argtypes = [C.c_void_p, C.POINTER(C.POINTER(C.c_float)), C.POINTER(C.c_int64),
                                        C.POINTER(Error)]
    return lib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.path.join(HERE, "..", "build", "lib", "libsori.so"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--tokens", type=int, default=101)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    from transformers import VitsConfig, VitsModel
    cfg = VitsConfig(layerdrop=0.0, hidden_dropout=0.0, attention_dropout=0.0, activation_dropout=0.0,
                     duration_predictor_dropout=0.0)
    torch.manual_seed(7)
    model = VitsModel(cfg).eval()
    gen.randomize(model, 7)
    rng = np.random.default_rng(7)
    ids = np.zeros(a.tokens, np.int32)
    ids[1::2] = rng.integers(1, cfg.vocab_size, a.tokens // 2)  # MMS style: blanks between characters
    # the reference once, its noise recorded; then timed with the same noise replayed
    out, caught, noise = gen.run(model, ids.tolist(), None, 1.0, 11)
    n_samples = out.waveform.shape[1]
    seconds = n_samples / cfg.sampling_rate

    def torch_once():
        it = iter(noise)
        real_randn, real_like = torch.randn, torch.randn_like
        torch.randn = lambda *s, **k: torch.from_numpy(next(it).copy())
        torch.randn_like = lambda t, **k: torch.from_numpy(next(it).copy())
        try:
            with torch.inference_mode():
                return model(input_ids=torch.tensor([ids.tolist()])).waveform[0].numpy()
        finally:
            torch.randn, torch.randn_like = real_randn, real_like

    ref = torch_once()
    t_torch = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        torch_once()
        t_torch.append(time.perf_counter() - t0)

    lib = sori_api(a.lib)
    err = Error()
    rp = lib.sori_runtime_default_params()
    rp.device, rp.n_threads, rp.pool_bytes = 0, a.threads, 1 << 20
    rt, voice, synth = C.c_void_p(), C.c_void_p(), C.c_void_p()
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        gguf = os.path.join(tmp, "voice.gguf")
        vits_to_gguf.convert(tmp, gguf)
        assert lib.sori_runtime_create(C.byref(rp), C.byref(rt), C.byref(err)) == 0, err.message
        assert lib.sori_tts_voice_load(rt, gguf.encode(), C.byref(voice), C.byref(err)) == 0, err.message
    sp = lib.sori_tts_synth_default_params(voice)
    assert lib.sori_tts_synth_create(voice, C.byref(sp), C.byref(synth), C.byref(err)) == 0, err.message
    nd = np.ascontiguousarray(noise[0][0])
    npr = np.ascontiguousarray(noise[-1][0])
    nz = Noise(nd.ctypes.data, npr.ctypes.data, npr.size)
    ids_c = ids.ctypes.data_as(C.POINTER(C.c_int32))
    wave_p, n = C.POINTER(C.c_float)(), C.c_int64()

    def sori_once():
        st = lib.sori_tts_synth_tokens(synth, ids_c, len(ids), C.byref(nz), C.byref(wave_p), C.byref(n), C.byref(err))
        assert st == 0, err.message

    sori_once()
    got = np.ctypeslib.as_array(wave_p, shape=(n.value,)).copy()
    rel = float(np.linalg.norm(got - ref) / np.linalg.norm(ref)) if got.size == ref.size else float("nan")
    t_sori = []
    for _ in range(a.runs):
        t0 = time.perf_counter()
        sori_once()
        t_sori.append(time.perf_counter() - t0)
    # streaming: time to the first chunk, and the whole stream
    ttfa, t_stream, streamed = [], [], None
    for _ in range(a.runs):
        total = C.c_int64()
        t0 = time.perf_counter()
        assert lib.sori_tts_synth_begin(synth, ids_c, len(ids), C.byref(nz), C.byref(total), C.byref(err)) == 0
        parts = []
        while True:
            assert lib.sori_tts_synth_next(synth, C.byref(wave_p), C.byref(n), C.byref(err)) == 0, err.message
            if n.value == 0:
                break
            if not parts:
                ttfa.append(time.perf_counter() - t0)
            parts.append(np.ctypeslib.as_array(wave_p, shape=(n.value,)).copy())
        t_stream.append(time.perf_counter() - t0)
        streamed = np.concatenate(parts)
    rel_stream = float(np.linalg.norm(streamed - got) / np.linalg.norm(got))
    lib.sori_tts_synth_free(synth)
    lib.sori_tts_voice_free(voice)
    lib.sori_runtime_free(rt)
    bt, bs = min(t_torch), min(t_sori)
    print(f"VITS (MMS-sized, random weights): {len(ids)} tokens -> {n_samples} samples ({seconds:.2f} s), "
          f"{a.threads} threads; waveform rel-L2 sori vs torch {rel:.1e}")
    print(f"  PyTorch {torch.__version__}: {bt * 1000:.0f} ms, RTF {bt / seconds:.3f}")
    print(f"  sori:   {bs * 1000:.0f} ms, RTF {bs / seconds:.3f}  ({bt / bs:.2f}x PyTorch)")
    print(f"  sori streaming ({sp.chunk_frames}-frame chunks): first audio after {min(ttfa) * 1000:.0f} ms, "
          f"all {min(t_stream) * 1000:.0f} ms (RTF {min(t_stream) / seconds:.3f}); rel-L2 to the whole call "
          f"{rel_stream:.1e}")


if __name__ == "__main__":
    main()
