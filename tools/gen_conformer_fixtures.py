#!/usr/bin/env python3
"""Golden fixtures for the Conformer engine (tests/test_conformer.c).

Builds small NeMo models with nemo_toolkit, sets every parameter and buffer
(pos_bias_u/v, norms, batch-norm running statistics included) to non-trivial
random values so that a converter that swaps or drops any of them fails,
saves them as .nemo, converts them with tools/nemo_to_gguf.py, and records
NeMo's own outputs for the committed test signal:

  tests/fixtures/conformer/NAME.gguf            the converted model
  tests/fixtures/conformer/NAME.feats.f32       features (frames x n_mels)
  tests/fixtures/conformer/NAME.enc.f32         encoder output (frames' x d_model)
  tests/fixtures/conformer/NAME.logp.f32        CTC log-probs (frames' x vocab+1)
  tests/fixtures/conformer/manifest.tsv         name, frames, frames', d_model, vocab+1,
                                                 batch item lengths of the padded-batch case

Pinned stack: tools/requirements-reference.txt.
    python3 tools/gen_conformer_fixtures.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from omegaconf import OmegaConf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "conformer")
SIGNAL = os.path.join(HERE, "..", "tests", "fixtures", "features", "signal.f32")

LABELS = [" ", "ㄱ", "ㄴ", "가", "나", "다", "라", "마", "바", "사", "아", "자", "차", "카", "타", "파", "하", "이", "요", "."]


def randomize(model, seed):
    """Every parameter and buffer to values a converter cannot get right by accident."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("preprocessor"):
                continue
            fan = p.shape[-1] if p.dim() > 1 else 1
            scale = 0.5 / max(1.0, fan ** 0.5) if p.dim() > 1 else 0.3
            p.copy_(torch.randn(p.shape, generator=g) * scale + (1.0 if name.endswith("norm_out.weight") else 0.0))
        for name, b in model.named_buffers():
            if "running_mean" in name:
                b.copy_(torch.randn(b.shape, generator=g) * 0.2)
            elif "running_var" in name:
                b.copy_(torch.rand(b.shape, generator=g) + 0.5)


def ctc_model(encoder_overrides):
    from nemo.collections.asr.models import EncDecCTCModel
    enc = {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "feat_in": 80, "n_layers": 2,
           "d_model": 64, "subsampling": "striding", "subsampling_factor": 4,
           "subsampling_conv_channels": 32, "n_heads": 4, "conv_kernel_size": 15,
           "ff_expansion_factor": 4, "dropout": 0.0, "dropout_pre_encoder": 0.0, "dropout_emb": 0.0,
           "dropout_att": 0.0}
    enc.update(encoder_overrides)
    cfg = OmegaConf.create({
        "sample_rate": 16000, "labels": LABELS,
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": 16000, "normalize": "per_feature", "window_size": 0.025,
                         "window_stride": 0.01, "window": "hann", "features": 80, "n_fft": 512,
                         "dither": 0.0, "pad_to": 0},
        "encoder": enc,
        "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": enc["d_model"],
                    "num_classes": len(LABELS), "vocabulary": LABELS},
        "optim": None,
    })
    return EncDecCTCModel(cfg=cfg)


CONFIGS = [
    ("ctc_striding4", dict(), 11),
    ("ctc_dw8_causal_conv", dict(subsampling="dw_striding", subsampling_factor=8, conv_context_size="causal",
                                 n_layers=3, conv_norm_type="layer_norm"), 12),
]


def main():
    os.makedirs(OUT, exist_ok=True)
    x = np.fromfile(SIGNAL, dtype=np.float32)
    rows = []
    for name, over, seed in CONFIGS:
        m = ctc_model(over)
        randomize(m, seed)
        m.eval()
        with tempfile.TemporaryDirectory() as tmp:
            nemo = os.path.join(tmp, name + ".nemo")
            m.save_to(nemo)
            subprocess.run([sys.executable, os.path.join(HERE, "nemo_to_gguf.py"), nemo,
                            os.path.join(OUT, name + ".gguf")], check=True)
        with torch.no_grad():
            # a batch of two: the whole signal and its first 60 %, padded
            n2 = int(len(x) * 0.6)
            sig = torch.zeros(2, len(x))
            sig[0] = torch.from_numpy(x)
            sig[1, :n2] = torch.from_numpy(x[:n2])
            lens = torch.tensor([len(x), n2])
            feats, flen = m.preprocessor(input_signal=sig, length=lens)
            enc, elen = m.encoder(audio_signal=feats, length=flen)
            logp = m.decoder(encoder_output=enc)
        for b in range(2):
            tag = name if b == 0 else name + ".b1"
            f = feats[b, :, : flen[b]].T.contiguous().numpy().astype(np.float32)
            e = enc[b, :, : elen[b]].T.contiguous().numpy().astype(np.float32)
            lp = logp[b, : elen[b]].contiguous().numpy().astype(np.float32)
            f.tofile(os.path.join(OUT, tag + ".feats.f32"))
            e.tofile(os.path.join(OUT, tag + ".enc.f32"))
            lp.tofile(os.path.join(OUT, tag + ".logp.f32"))
            rows.append((tag, name, f.shape[0], e.shape[0], e.shape[1], lp.shape[1]))
    with open(os.path.join(OUT, "manifest.tsv"), "w") as mf:
        for r in rows:
            mf.write("\t".join(str(v) for v in r) + "\n")
    print(f"wrote {len(rows)} cases to {OUT}")


if __name__ == "__main__":
    main()
