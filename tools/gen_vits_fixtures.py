#!/usr/bin/env python3
"""Parity fixtures for sori's VITS engine (tests/test_vits.c), from Hugging Face
transformers' `VitsModel` (the reference implementation of VITS / MMS-TTS).

Tiny `VitsConfig`s with every parameter random (seeded; a sensible scale for
each kind: unit-norm-ish convolution filters, layer norms 1 ± 0.2, relative
attention embeddings, weight-norm gains, the duration flows' affine and spline
convolutions, HiFi-GAN, speaker embeddings) are saved as transformers
checkpoints, converted by tools/vits_to_gguf.py, and run once through
`VitsModel.forward` with torch.randn / torch.randn_like patched so the two
Gaussian noise tensors the pass draws (the stochastic duration predictor's
[1, 2, T_in] and the prior's [1, flow_size, T_out]) are recorded and written
into the fixture. The C test feeds the same noise.

Per model NAME, in tests/fixtures/vits/ (f32 .npy, channel-major [C, T]):
  NAME.gguf                         the converted model (f32)
  NAME.ids.npy (i32 [T_in])         token ids
  NAME.params.npy (f32 [4])         noise_scale, noise_scale_duration, length_scale, speaker_id
  NAME.noise_dur.npy [2, T_in]      the duration predictor's noise (before noise_scale_duration)
  NAME.noise_prior.npy [F, T_out]   the prior's noise (before noise_scale)
  NAME.hidden.npy [H, T_in]         text encoder output
  NAME.prior_mean.npy, NAME.prior_logvar.npy [F, T_in]
  NAME.log_dur.npy [T_in]           log-durations
  NAME.dur.npy (i32 [T_in])         frames per token: ceil(exp(log_dur) * length_scale)
  NAME.prior_latents.npy [F, T_out] the flow's input (expanded prior + noise)
  NAME.latents.npy [F, T_out]       the flow's output (the decoder's input)
  NAME.wave.npy [T_out * hop]       the waveform

Durations must be identical in C: a seed is used only if every exp(log_dur) *
length_scale lies at least 1e-3 away from an integer.

    pip install -r tools/requirements-vits.txt
    python3 tools/gen_vits_fixtures.py [--out tests/fixtures/vits]
"""
import argparse
import contextlib
import json
import math
import os
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vits_to_gguf  # noqa: E402

torch.set_num_threads(2)

BASE = dict(
    vocab_size=20, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, window_size=4, ffn_dim=32,
    ffn_kernel_size=3, flow_size=8, spectrogram_bins=9, prior_encoder_num_flows=2,
    prior_encoder_num_wavenet_layers=2, posterior_encoder_num_wavenet_layers=1, wavenet_kernel_size=5,
    wavenet_dilation_rate=1, upsample_initial_channel=16, upsample_rates=[4, 4], upsample_kernel_sizes=[8, 8],
    resblock_kernel_sizes=[3, 5], resblock_dilation_sizes=[[1, 3], [1, 3]], depth_separable_num_layers=2,
    duration_predictor_flow_bins=6, duration_predictor_num_flows=3, duration_predictor_filter_channels=12,
    duration_predictor_kernel_size=3, layerdrop=0.0, hidden_dropout=0.0, attention_dropout=0.0,
    activation_dropout=0.0, duration_predictor_dropout=0.0, sampling_rate=16000,
)

# name: (config overrides, speaker id, speaking rate, noise_scale, noise_scale_duration, n tokens)
MODELS = {
    # stochastic duration predictor, one speaker, dilated WaveNet
    "sdp": (dict(use_stochastic_duration_prediction=True, wavenet_dilation_rate=2), None, 1.0, 0.667, 0.8, 11),
    # deterministic duration predictor, GELU, no attention biases, an even FFN kernel (asymmetric padding)
    "dp": (dict(use_stochastic_duration_prediction=False, hidden_act="gelu", use_bias=False, ffn_kernel_size=2),
           None, 1.25, 0.5, 0.0, 9),
    # stochastic, three speakers (speaker conditioning everywhere), speaker 2
    "sdp_spk": (dict(use_stochastic_duration_prediction=True, num_speakers=3, speaker_embedding_size=6,
                     duration_predictor_num_flows=2), 2, 0.8, 0.9, 1.0, 10),
    # deterministic, two speakers, speaker 1
    "dp_spk": (dict(use_stochastic_duration_prediction=False, num_speakers=2, speaker_embedding_size=5), 1, 1.0,
               0.667, 0.8, 8),
}


def randomize(model, seed):
    """Every parameter random, seeded, at a scale that keeps activations O(1)."""
    g = torch.Generator().manual_seed(seed)

    def u(shape):
        return torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1

    cfg = model.config
    hd = cfg.hidden_size // cfg.num_attention_heads
    with torch.no_grad():
        for name, p in model.named_parameters():
            s = tuple(p.shape)
            if name.endswith("original0") or name.endswith("weight_g"):  # weight-norm gain: filter norms 0.6..1.4
                v = 1.0 + 0.4 * u(s)
            elif name.endswith("original1") or name.endswith("weight_v"):
                v = u(s)
            elif "emb_rel_" in name:
                v = u(s) * 1.5 * hd ** -0.5
            elif name.endswith("embed_tokens.weight"):
                v = u(s) * 1.7 * cfg.hidden_size ** -0.5
            elif name.endswith("embed_speaker.weight"):
                v = u(s)
            elif name.endswith("translate") or name.endswith("log_scale"):
                v = 0.3 * u(s)
            elif ("norm" in name) and len(s) == 1:
                v = (1.0 + 0.2 * u(s)) if name.endswith("weight") else 0.1 * u(s)
            elif len(s) == 1:
                v = 0.1 * u(s)
            elif "upsampler" in name:  # ConvTranspose1d [in, out, k]: each output sums in * k / stride terms
                i = int(name.split(".")[2])
                fan = s[0] * s[2] / cfg.upsample_rates[i]
                v = u(s) * math.sqrt(3.0 / fan)
            else:
                fan = int(np.prod(s[1:]))
                v = u(s) * math.sqrt(3.0 / fan)
            p.copy_(v.to(p.dtype))


@contextlib.contextmanager
def recorded_noise(rng, record):
    """torch.randn / randn_like draw from rng (numpy) and are recorded."""
    real_randn, real_like = torch.randn, torch.randn_like

    def randn(*size, **kw):
        if len(size) == 1 and isinstance(size[0], (tuple, list, torch.Size)):
            size = tuple(size[0])
        x = rng.standard_normal(size).astype(np.float32)
        record.append(x)
        return torch.from_numpy(x.copy())

    def randn_like(t, **kw):
        x = rng.standard_normal(tuple(t.shape)).astype(np.float32)
        record.append(x)
        return torch.from_numpy(x.copy()).to(t.dtype)

    torch.randn, torch.randn_like = randn, randn_like
    try:
        yield
    finally:
        torch.randn, torch.randn_like = real_randn, real_like


def run(model, ids, speaker, rate, seed):
    caught = {}
    hooks = [
        model.text_encoder.register_forward_hook(lambda m, i, o: caught.update(te=o)),
        model.duration_predictor.register_forward_hook(lambda m, i, o: caught.update(log_dur=o)),
        model.flow.register_forward_hook(lambda m, i, o: caught.update(flow_in=i[0], flow_out=o)),
    ]
    noise = []
    with torch.no_grad(), recorded_noise(np.random.default_rng(seed), noise):
        out = model(input_ids=torch.tensor([ids]), speaker_id=speaker, speaking_rate=rate)
    for h in hooks:
        h.remove()
    return out, caught, noise


def make(name, out_dir, seed0):
    over, speaker, rate, ns, nsd, n_tok = MODELS[name]
    from transformers import VitsConfig, VitsModel
    for attempt in range(50):
        seed = seed0 + attempt
        cfg = VitsConfig(**{**BASE, **over}, noise_scale=ns, noise_scale_duration=nsd, speaking_rate=rate)
        torch.manual_seed(seed)
        model = VitsModel(cfg).eval()
        randomize(model, seed)
        rng = np.random.default_rng(seed)
        ids = [0] + [int(x) for x in rng.integers(1, cfg.vocab_size, n_tok - 1)]
        out, caught, noise = run(model, ids, speaker, rate, seed + 1000)
        log_dur = caught["log_dur"][0, 0].double().numpy()
        x = np.exp(log_dur) / rate
        frames = int(np.ceil(x).sum())
        margin = np.abs(x - np.round(x)).min()
        if margin < 1e-3 or not 12 <= frames <= 120:
            print(f"{name}: seed {seed}: margin {margin:.2e}, {frames} frames: next seed")
            continue
        break
    else:
        raise SystemExit(f"{name}: no seed gave safe durations")
    want_noise = 2 if cfg.use_stochastic_duration_prediction else 1
    assert len(noise) == want_noise, [n.shape for n in noise]
    with tempfile.TemporaryDirectory() as tmp:
        model.save_pretrained(tmp)
        vocab = {f"t{i}" if i else "_": i for i in range(cfg.vocab_size)}
        json.dump(vocab, open(os.path.join(tmp, "vocab.json"), "w"))
        json.dump({"add_blank": True, "normalize": True, "phonemize": False, "language": "kor"},
                  open(os.path.join(tmp, "tokenizer_config.json"), "w"))
        vits_to_gguf.convert(tmp, os.path.join(out_dir, f"{name}.gguf"), name=f"sori-test-vits-{name}")
    te = caught["te"]
    dur = torch.ceil(torch.exp(caught["log_dur"]) * (1.0 / rate))[0, 0].numpy().astype(np.int32)
    T_in = len(ids)
    files = {
        "ids": np.array(ids, dtype=np.int32),
        "params": np.array([ns, nsd, 1.0 / rate, -1 if speaker is None else speaker], dtype=np.float32),
        "noise_dur": noise[0][0] if want_noise == 2 else np.zeros((2, T_in), np.float32),
        "noise_prior": noise[-1][0],
        "hidden": te.last_hidden_state[0].T.numpy(),
        "prior_mean": te.prior_means[0].T.numpy(),
        "prior_logvar": te.prior_log_variances[0].T.numpy(),
        "log_dur": caught["log_dur"][0, 0].numpy(),
        "dur": dur,
        "prior_latents": caught["flow_in"][0].numpy(),
        "latents": caught["flow_out"][0].numpy(),
        "wave": out.waveform[0].numpy(),
    }
    assert int(dur.sum()) == files["latents"].shape[1] == files["noise_prior"].shape[1]
    for k, v in files.items():
        v = np.ascontiguousarray(v)
        assert v.dtype in (np.float32, np.int32), (k, v.dtype)
        np.save(os.path.join(out_dir, f"{name}.{k}.npy"), v)
    print(f"{name}: seed {seed}, {T_in} tokens -> {int(dur.sum())} frames, {files['wave'].size} samples; "
          f"durations {dur.tolist()}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "tests", "fixtures", "vits"))
    ap.add_argument("--seed", type=int, default=1234)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for i, name in enumerate(MODELS):
        make(name, a.out, a.seed + 100 * i)


if __name__ == "__main__":
    main()
