"""Helpers for running NeMo models in the peers the benchmarks compare with."""
import os

import numpy as np
import onnx


def test_audio(n, folder):
    """n samples at 16 kHz of a modulated tone with a little noise (the models have random weights:
    any audio times them), also written to folder/x.f32; returns (samples, path)."""
    rng = np.random.default_rng(1)
    t = np.arange(n) / 16000
    x = (0.1 * np.sin(2 * np.pi * 220 * t) * np.sin(2 * np.pi * 1.5 * t)
         + 0.02 * rng.standard_normal(n)).astype(np.float32)
    path = os.path.join(folder, "x.f32")
    x.tofile(path)
    return x, path


def add_onnx_metadata(path, meta):
    """Replaces an ONNX file's metadata with `meta` (what sherpa-onnx's NeMo loaders read)."""
    model = onnx.load(path)
    while len(model.metadata_props):
        model.metadata_props.pop()
    for k, v in meta.items():
        e = model.metadata_props.add()
        e.key, e.value = k, str(v)
    onnx.save(model, path)


def write_tokens(path, vocab):
    """sherpa-onnx's tokens.txt: `token id` per line (a space label as ▁), the blank last."""
    with open(path, "w", encoding="utf-8") as f:
        for i, t in enumerate(vocab):
            f.write(f"{'▁' if t == ' ' else t} {i}\n")
        f.write(f"<blk> {len(vocab)}\n")
