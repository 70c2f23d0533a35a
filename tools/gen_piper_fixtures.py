#!/usr/bin/env python3
"""Parity fixtures for Piper voices in sori (tests/test_vits.c): tiny Piper
models with every parameter random, exported to ONNX exactly as Piper's own
`piper_train.export_onnx` does (the legacy TorchScript exporter, opset 15,
weight norm removed from the HiFi-GAN only, inputs input / input_lengths /
scales / sid), with a Piper voice config (`MODEL.onnx.json`), then run by
onnxruntime; tools/piper_to_gguf.py converts them and the C test compares.

Piper's training code is its upstream's (rhasspy/piper, MIT): this script
imports `piper_train.vits` from a checkout named by --piper-src (the folder
that holds `piper_train/`), pinned at commit 73c04d8 of that repository. No
Piper code is part of sori. Its Cython `monotonic_align` (training only) is
replaced by a stub here.

Piper's ONNX graph draws its noise inside (RandomNormalLike), so the fixtures
use noise_scale = noise_w = 0: deterministic, and every stage but the noise
injection (which tests/test_vits.c checks against transformers) is compared.
A seed is used only if every duration (exp(logw) × length_scale) lies at
least 1e-3 from an integer, so the ceil cannot go the other way.

Per model NAME, in tests/fixtures/vits/ (the ONNX voices themselves, 0.9 MB
each, are not kept unless --keep-onnx names a folder):
  NAME.gguf                     tools/piper_to_gguf.py's conversion
  NAME.ids.npy (i32)            the ids given to onnxruntime (BOS, pads, EOS included)
  NAME.params.npy (f32 [4])     noise_scale, noise_w, length_scale, speaker_id (−1: none)
  NAME.wave.npy (f32)           onnxruntime's waveform
  NAME.torch.npy (f32)          PyTorch's waveform from the same model (to show the export is faithful)

    pip install -r tools/requirements-piper.txt
    python3 tools/gen_piper_fixtures.py --piper-src PIPER/src/python [--out tests/fixtures/vits]
"""
import argparse
import json
import math
import os
import shutil
import sys
import tempfile
import types

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

torch.set_num_threads(2)

# Korean through sori's IPA (text/ipa.c) needs these symbols; a real Korean Piper voice has them too
SYMBOLS = ["_", "^", "$", " ", "!", ",", ".", ":", ";", "?", "a", "b", "d", "e", "h", "i", "j", "k", "l", "m", "n",
           "o", "p", "s", "t", "u", "w", "ç", "ŋ", "ɕ", "ɡ", "ɯ", "ɰ", "ɲ", "ɾ", "ʌ", "ʔ", "ʥ", "ʨ", "ʰ"]

# name: (hyper-parameters, speaker id, length_scale, n phonemes)
MODELS = {
    # Piper's "medium"/"low" generator (ResBlock2), stochastic durations, one speaker
    "piper_rb2": (dict(resblock="2", resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 2), (2, 6)),
                       use_sdp=True, n_speakers=1, gin_channels=0), None, 1.0, 9),
    # "high" (ResBlock1), deterministic durations, three speakers
    "piper_rb1_spk": (dict(resblock="1", resblock_kernel_sizes=(3, 5), resblock_dilation_sizes=((1, 3, 5), (1, 3, 5)),
                           use_sdp=False, n_speakers=3, gin_channels=6), 2, 1.2, 8),
}
BASE = dict(n_vocab=len(SYMBOLS) + 4, spec_channels=9, segment_size=32, inter_channels=8, hidden_channels=16,
            filter_channels=32, n_heads=2, n_layers=2, kernel_size=3, p_dropout=0.0, upsample_rates=(4, 4),
            upsample_initial_channel=16, upsample_kernel_sizes=(8, 8))


def import_piper(src):
    stub = types.ModuleType("piper_train.vits.monotonic_align")
    stub.maximum_path = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("training only"))
    sys.modules["piper_train.vits.monotonic_align"] = stub
    sys.path.insert(0, src)
    from piper_train.vits import models  # noqa: E402
    return models


def randomize(model, seed, hidden, rates):
    """Every parameter random, seeded, at a scale that keeps activations O(1) (as gen_vits_fixtures.py)."""
    g = torch.Generator().manual_seed(seed)

    def u(shape):
        return torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1

    hd = hidden // BASE["n_heads"]
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("enc_q.") or ".post_" in name:  # training only
                continue
            s = tuple(p.shape)
            if name.endswith("weight_g") or name.endswith("original0"):
                v = 1.0 + 0.4 * u(s)
            elif name.endswith("weight_v") or name.endswith("original1"):
                v = u(s)
            elif "emb_rel_" in name:
                v = u(s) * 1.5 * hd ** -0.5
            elif name == "enc_p.emb.weight":
                v = u(s) * 1.7 * hidden ** -0.5
            elif name == "emb_g.weight":
                v = u(s)
            elif name.endswith(".m") or name.endswith(".logs"):
                v = 0.3 * u(s)
            elif name.endswith("gamma"):
                v = 1.0 + 0.2 * u(s)
            elif name.endswith("beta") or len(s) == 1:
                v = 0.1 * u(s)
            elif name.startswith("dec.ups."):
                i = int(name.split(".")[2])
                fan = s[0] * s[2] / rates[i]
                v = u(s) * math.sqrt(3.0 / fan)
            else:
                fan = int(np.prod(s[1:]))
                v = u(s) * math.sqrt(3.0 / fan)
            p.copy_(v.to(p.dtype))


def export(model_g, path, n_sym, n_speakers):
    """piper_train.export_onnx's steps."""
    with torch.no_grad():
        model_g.dec.remove_weight_norm()

    def infer_forward(text, text_lengths, scales, sid=None):
        return model_g.infer(text, text_lengths, noise_scale=scales[0], length_scale=scales[1],
                             noise_scale_w=scales[2], sid=sid)[0].unsqueeze(1)

    model_g.forward = infer_forward
    seq = torch.randint(low=0, high=n_sym, size=(1, 50), dtype=torch.long)
    sid = torch.LongTensor([0]) if n_speakers > 1 else None
    torch.onnx.export(model=model_g, args=(seq, torch.LongTensor([50]), torch.FloatTensor([0.667, 1.0, 0.8]), sid),
                      f=path, verbose=False, opset_version=15, dynamo=False,
                      input_names=["input", "input_lengths", "scales", "sid"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch_size", 1: "phonemes"}, "input_lengths": {0: "batch_size"},
                                    "output": {0: "batch_size", 1: "time"}})


def config_json(name, n_speakers):
    return {
        "audio": {"sample_rate": 16000, "quality": "test"},
        "espeak": {"voice": "ko"},
        "language": {"code": "ko_KR"},
        "inference": {"noise_scale": 0.667, "length_scale": 1, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": {s: [i] for i, s in enumerate(SYMBOLS)},
        "num_symbols": BASE["n_vocab"],
        "num_speakers": n_speakers,
        "speaker_id_map": {f"spk{i}": i for i in range(n_speakers)} if n_speakers > 1 else {},
        "piper_version": "1.0.0",
        "dataset": f"sori-test-{name}",
    }


def piper_ids(phonemes):
    """piper-phonemize's phonemes_to_ids: BOS, pad, then each phoneme and a pad, EOS."""
    m = {s: i for i, s in enumerate(SYMBOLS)}
    ids = [m["^"], m["_"]]
    for p in phonemes:
        ids += [m[p], m["_"]]
    return ids + [m["$"]]


def make(models, name, out_dir, seed0, keep_onnx=None):
    import onnxruntime as ort
    hp, speaker, length_scale, n_ph = MODELS[name]
    for attempt in range(50):
        seed = seed0 + attempt
        torch.manual_seed(seed)
        kw = dict(BASE)
        kw.update(hp)
        model = models.SynthesizerTrn(**kw)
        if not hp["use_sdp"]:  # Piper's 256 filters, fewer here to keep the fixture small (read from the shapes)
            model.dp = models.DurationPredictor(BASE["hidden_channels"], 24, 3, 0.0, gin_channels=hp["gin_channels"])
        model.eval()
        randomize(model, seed, BASE["hidden_channels"], BASE["upsample_rates"])
        rng = np.random.default_rng(seed)
        phon = [SYMBOLS[i] for i in rng.integers(3, len(SYMBOLS), n_ph)]
        ids = piper_ids(phon)
        x = torch.tensor([ids])
        sid = torch.LongTensor([speaker]) if speaker is not None else None
        with torch.no_grad():
            xe, m_p, logs_p, x_mask = model.enc_p(x, torch.LongTensor([len(ids)]))
            g = model.emb_g(sid).unsqueeze(-1) if speaker is not None else None
            if hp["use_sdp"]:
                logw = model.dp(xe, x_mask, g=g, reverse=True, noise_scale=0.0)
            else:
                logw = model.dp(xe, x_mask, g=g)
            w = (torch.exp(logw) * length_scale)[0, 0].double().numpy()
            o = model.infer(x, torch.LongTensor([len(ids)]), sid=sid, noise_scale=0.0, length_scale=length_scale,
                            noise_scale_w=0.0)[0]
        margin = np.abs(w - np.round(w)).min()
        frames = int(np.ceil(w).sum())
        if margin < 1e-3 or not 12 <= frames <= 160:
            print(f"{name}: seed {seed}: margin {margin:.2e}, {frames} frames: next seed")
            continue
        break
    else:
        raise SystemExit(f"{name}: no seed gave safe durations")
    wave_torch = o[0, 0].numpy().astype(np.float32)
    tmp = tempfile.mkdtemp()
    onnx_path = os.path.join(keep_onnx or tmp, f"{name}.onnx")
    export(model, onnx_path, BASE["n_vocab"], hp["n_speakers"])
    json.dump(config_json(name, hp["n_speakers"]), open(onnx_path + ".json", "w", encoding="utf-8"),
              ensure_ascii=False, indent=2)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
    feed = {"input": np.array([ids], np.int64), "input_lengths": np.array([len(ids)], np.int64),
            "scales": np.array([0.0, length_scale, 0.0], np.float32)}
    if speaker is not None:
        feed["sid"] = np.array([speaker], np.int64)
    wave = sess.run(None, feed)[0].reshape(-1).astype(np.float32)
    rel = np.linalg.norm(wave - wave_torch) / np.linalg.norm(wave_torch)
    assert wave.shape == wave_torch.shape and rel < 1e-5, (wave.shape, wave_torch.shape, rel)
    import piper_to_gguf
    piper_to_gguf.convert(onnx_path, onnx_path + ".json", os.path.join(out_dir, f"{name}.gguf"),
                          name=f"sori-test-{name}")
    files = {"ids": np.array(ids, np.int32),
             "params": np.array([0.0, 0.0, length_scale, -1 if speaker is None else speaker], np.float32),
             "wave": wave, "torch": wave_torch}
    for k, v in files.items():
        np.save(os.path.join(out_dir, f"{name}.{k}.npy"), np.ascontiguousarray(v))
    shutil.rmtree(tmp)
    print(f"{name}: seed {seed}, {len(ids)} ids -> {frames} frames, {wave.size} samples; onnxruntime vs PyTorch "
          f"rel-L2 {rel:.1e}; durations {np.ceil(w).astype(int).tolist()}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--piper-src", required=True, help="the folder holding piper_train/ (rhasspy/piper's src/python)")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vits"))
    ap.add_argument("--seed", type=int, default=4321)
    ap.add_argument("--keep-onnx", help="also leave the Piper voices (.onnx + .onnx.json) in this folder")
    a = ap.parse_args()
    models = import_piper(a.piper_src)
    os.makedirs(a.out, exist_ok=True)
    for i, name in enumerate(MODELS):
        make(models, name, a.out, a.seed + 100 * i, a.keep_onnx)


if __name__ == "__main__":
    main()
