#!/usr/bin/env python3
"""Convert a Hugging Face transformers VITS checkpoint (`VitsModel`: Meta's
MMS-TTS voices and other VITS voices saved by transformers) to sori's GGUF
(`general.architecture` = `sori.vits`, docs/model-format.md).

    pip install -r tools/requirements-vits.txt
    python3 tools/vits_to_gguf.py CHECKPOINT_DIR OUT.gguf [--f16] [--name NAME]

CHECKPOINT_DIR holds config.json and model.safetensors (or pytorch_model.bin),
and optionally the tokenizer's vocab.json and tokenizer_config.json.

What is written:
  - hyper-parameters as `sori.vits.<config key>` (lists of ints as arrays; the
    HiFi-GAN's per-kernel dilation lists flattened, with their lengths);
  - the vocabulary (vocab.json, in id order) and the tokenizer's flags
    (add_blank, normalize, phonemize, is_uroman, language) when present;
  - the tensors the inference pass reads, under transformers' state-dict
    names, with weight norm folded into plain weights
    (w = g * v / ||v||, the norm over every dimension but the first, for both
    the old `weight_g`/`weight_v` names and torch's
    `parametrizations.weight.original0/1`). Left out, because inference never
    reads them: the posterior encoder (`posterior_encoder.*`), the stochastic
    duration predictor's posterior flows (`duration_predictor.post_*`) and its
    flow 1 (transformers drops that "useless vflow" in reverse mode).
Anything sori does not run is refused by name: other model types, activations
other than relu/gelu, depth_separable_channels other than 2, no window_size,
unknown or missing tensors.
"""
import argparse
import json
import os
import re
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sori_gguf import write_model  # noqa: E402

ARCH = "sori.vits"

INT_KEYS = [
    "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "window_size", "ffn_dim",
    "ffn_kernel_size", "flow_size", "num_speakers", "speaker_embedding_size", "upsample_initial_channel",
    "depth_separable_channels", "depth_separable_num_layers", "duration_predictor_flow_bins",
    "duration_predictor_kernel_size", "duration_predictor_num_flows", "duration_predictor_filter_channels",
    "prior_encoder_num_flows", "prior_encoder_num_wavenet_layers", "wavenet_kernel_size",
    "wavenet_dilation_rate", "sampling_rate",
]
FLOAT_KEYS = ["layer_norm_eps", "leaky_relu_slope", "duration_predictor_tail_bound", "speaking_rate", "noise_scale",
              "noise_scale_duration"]
DEFAULTS = {  # VitsConfig's defaults (transformers 5.24), for keys a config.json may omit
    "vocab_size": 38, "hidden_size": 192, "num_hidden_layers": 6, "num_attention_heads": 2, "window_size": 4,
    "use_bias": True, "ffn_dim": 768, "ffn_kernel_size": 3, "flow_size": 192, "hidden_act": "relu",
    "layer_norm_eps": 1e-5, "use_stochastic_duration_prediction": True, "num_speakers": 1,
    "speaker_embedding_size": 0, "upsample_initial_channel": 512, "upsample_rates": [8, 8, 2, 2],
    "upsample_kernel_sizes": [16, 16, 4, 4], "resblock_kernel_sizes": [3, 7, 11],
    "resblock_dilation_sizes": [[1, 3, 5], [1, 3, 5], [1, 3, 5]], "leaky_relu_slope": 0.1,
    "depth_separable_channels": 2, "depth_separable_num_layers": 3, "duration_predictor_flow_bins": 10,
    "duration_predictor_tail_bound": 5.0, "duration_predictor_kernel_size": 3, "duration_predictor_num_flows": 4,
    "duration_predictor_filter_channels": 256, "prior_encoder_num_flows": 4, "prior_encoder_num_wavenet_layers": 4,
    "wavenet_kernel_size": 5, "wavenet_dilation_rate": 1, "speaking_rate": 1.0, "noise_scale": 0.667,
    "noise_scale_duration": 0.8, "sampling_rate": 16000,
}


class Refused(Exception):
    pass


def load_state_dict(src):
    st = os.path.join(src, "model.safetensors")
    if os.path.exists(st):
        from safetensors.numpy import load_file
        return {k: np.asarray(v) for k, v in load_file(st).items()}
    idx = os.path.join(src, "model.safetensors.index.json")
    if os.path.exists(idx):
        from safetensors.numpy import load_file
        files = sorted(set(json.load(open(idx))["weight_map"].values()))
        sd = {}
        for f in files:
            sd.update({k: np.asarray(v) for k, v in load_file(os.path.join(src, f)).items()})
        return sd
    pt = os.path.join(src, "pytorch_model.bin")
    if os.path.exists(pt):
        import torch
        sd = torch.load(pt, map_location="cpu", weights_only=True)
        return {k: v.float().numpy() if v.is_floating_point() else v.numpy() for k, v in sd.items()}
    raise Refused(f"{src}: no model.safetensors or pytorch_model.bin")


def fold_weight_norm(sd):
    """Replaces each weight-norm pair by the plain weight g * v / ||v||."""
    out = {}
    pairs = {}
    for k, v in sd.items():
        m = re.match(r"(.*)\.(weight_g|weight_v|parametrizations\.weight\.original0|parametrizations\.weight\.original1)$", k)
        if m:
            part = "g" if m.group(2) in ("weight_g", "parametrizations.weight.original0") else "v"
            pairs.setdefault(m.group(1), {})[part] = v.astype(np.float64)
        else:
            out[k] = v
    for base, p in pairs.items():
        if set(p) != {"g", "v"}:
            raise Refused(f"{base}: weight norm with only {sorted(p)}")
        v, g = p["v"], p["g"]
        norm = np.sqrt((v.reshape(v.shape[0], -1) ** 2).sum(axis=1)).reshape((-1,) + (1,) * (v.ndim - 1))
        out[base + ".weight"] = (g.reshape(norm.shape) * v / norm).astype(np.float32)
    return out


def check_config(cfg):
    c = dict(DEFAULTS)
    c.update({k: v for k, v in cfg.items() if v is not None})
    if cfg.get("model_type") != "vits":
        raise Refused(f"model_type {cfg.get('model_type')!r}: only 'vits' (transformers VitsModel) is supported")
    if c["hidden_act"] not in ("relu", "gelu"):
        raise Refused(f"hidden_act {c['hidden_act']!r}: only relu and gelu are supported")
    if c["depth_separable_channels"] != 2:
        raise Refused(f"depth_separable_channels {c['depth_separable_channels']}: must be 2 (VitsModel's duration flows)")
    if not cfg.get("window_size", DEFAULTS["window_size"]):
        raise Refused("window_size 0/None: attention without relative positions is not supported")
    if c["hidden_size"] % c["num_attention_heads"]:
        raise Refused("num_attention_heads does not divide hidden_size")
    if len(c["upsample_rates"]) != len(c["upsample_kernel_sizes"]):
        raise Refused("upsample_rates and upsample_kernel_sizes differ in length")
    if len(c["resblock_kernel_sizes"]) != len(c["resblock_dilation_sizes"]):
        raise Refused("resblock_kernel_sizes and resblock_dilation_sizes differ in length")
    if c["num_speakers"] > 1 and c["speaker_embedding_size"] <= 0:
        raise Refused("num_speakers > 1 without a speaker_embedding_size")
    return c


def expected_tensors(c):
    """name -> shape of every tensor the engine reads."""
    H, F, L = c["hidden_size"], c["flow_size"], c["num_hidden_layers"]
    hd = H // c["num_attention_heads"]
    W = c["window_size"]
    G = c["speaker_embedding_size"]
    e = {"text_encoder.embed_tokens.weight": (c["vocab_size"], H),
         "text_encoder.project.weight": (2 * F, H, 1), "text_encoder.project.bias": (2 * F,)}
    for i in range(L):
        p = f"text_encoder.encoder.layers.{i}."
        for n in ("q", "k", "v", "out"):
            e[p + f"attention.{n}_proj.weight"] = (H, H)
            if c["use_bias"]:
                e[p + f"attention.{n}_proj.bias"] = (H,)
        e[p + "attention.emb_rel_k"] = (1, 2 * W + 1, hd)
        e[p + "attention.emb_rel_v"] = (1, 2 * W + 1, hd)
        for n in ("layer_norm", "final_layer_norm"):
            e[p + n + ".weight"] = (H,)
            e[p + n + ".bias"] = (H,)
        k = c["ffn_kernel_size"]
        e[p + "feed_forward.conv_1.weight"] = (c["ffn_dim"], H, k)
        e[p + "feed_forward.conv_1.bias"] = (c["ffn_dim"],)
        e[p + "feed_forward.conv_2.weight"] = (H, c["ffn_dim"], k)
        e[p + "feed_forward.conv_2.bias"] = (H,)
    dk = c["duration_predictor_kernel_size"]

    def dds(p, n_layers):
        for i in range(n_layers):
            e[f"{p}convs_dilated.{i}.weight"] = (H, 1, dk)
            e[f"{p}convs_dilated.{i}.bias"] = (H,)
            e[f"{p}convs_pointwise.{i}.weight"] = (H, H, 1)
            e[f"{p}convs_pointwise.{i}.bias"] = (H,)
            for n in ("norms_1", "norms_2"):
                e[f"{p}{n}.{i}.weight"] = (H,)
                e[f"{p}{n}.{i}.bias"] = (H,)

    dp = "duration_predictor."
    if c["use_stochastic_duration_prediction"]:
        for n in ("conv_pre", "conv_proj"):
            e[dp + n + ".weight"] = (H, H, 1)
            e[dp + n + ".bias"] = (H,)
        dds(dp + "conv_dds.", c["depth_separable_num_layers"])
        if G:
            e[dp + "cond.weight"] = (H, G, 1)
            e[dp + "cond.bias"] = (H,)
        e[dp + "flows.0.translate"] = (2, 1)
        e[dp + "flows.0.log_scale"] = (2, 1)
        nb = c["duration_predictor_flow_bins"]
        for j in range(2, c["duration_predictor_num_flows"] + 1):
            p = f"{dp}flows.{j}."
            e[p + "conv_pre.weight"] = (H, 1, 1)
            e[p + "conv_pre.bias"] = (H,)
            dds(p + "conv_dds.", c["depth_separable_num_layers"])
            e[p + "conv_proj.weight"] = (3 * nb - 1, H, 1)
            e[p + "conv_proj.bias"] = (3 * nb - 1,)
    else:
        FC = c["duration_predictor_filter_channels"]
        e[dp + "conv_1.weight"] = (FC, H, dk)
        e[dp + "conv_1.bias"] = (FC,)
        e[dp + "conv_2.weight"] = (FC, FC, dk)
        e[dp + "conv_2.bias"] = (FC,)
        for n in ("norm_1", "norm_2"):
            e[dp + n + ".weight"] = (FC,)
            e[dp + n + ".bias"] = (FC,)
        e[dp + "proj.weight"] = (1, FC, 1)
        e[dp + "proj.bias"] = (1,)
        if G:
            e[dp + "cond.weight"] = (H, G, 1)
            e[dp + "cond.bias"] = (H,)
    nl = c["prior_encoder_num_wavenet_layers"]
    for j in range(c["prior_encoder_num_flows"]):
        p = f"flow.flows.{j}."
        e[p + "conv_pre.weight"] = (H, F // 2, 1)
        e[p + "conv_pre.bias"] = (H,)
        e[p + "conv_post.weight"] = (F // 2, H, 1)
        e[p + "conv_post.bias"] = (F // 2,)
        if G:
            e[p + "wavenet.cond_layer.weight"] = (2 * H * nl, G, 1)
            e[p + "wavenet.cond_layer.bias"] = (2 * H * nl,)
        for i in range(nl):
            e[f"{p}wavenet.in_layers.{i}.weight"] = (2 * H, H, c["wavenet_kernel_size"])
            e[f"{p}wavenet.in_layers.{i}.bias"] = (2 * H,)
            rs = 2 * H if i < nl - 1 else H
            e[f"{p}wavenet.res_skip_layers.{i}.weight"] = (rs, H, 1)
            e[f"{p}wavenet.res_skip_layers.{i}.bias"] = (rs,)
    C0 = c["upsample_initial_channel"]
    e["decoder.conv_pre.weight"] = (C0, F, 7)
    e["decoder.conv_pre.bias"] = (C0,)
    if G:
        e["decoder.cond.weight"] = (C0, G, 1)
        e["decoder.cond.bias"] = (C0,)
    nk = len(c["resblock_kernel_sizes"])
    for i, k in enumerate(c["upsample_kernel_sizes"]):
        cin, cout = C0 // 2 ** i, C0 // 2 ** (i + 1)
        e[f"decoder.upsampler.{i}.weight"] = (cin, cout, k)
        e[f"decoder.upsampler.{i}.bias"] = (cout,)
        for j, (rk, dil) in enumerate(zip(c["resblock_kernel_sizes"], c["resblock_dilation_sizes"])):
            for n in ("convs1", "convs2") if c.get("resblock_type", 1) == 1 else ("convs1",):  # 2: ResBlock2
                for d in range(len(dil)):
                    e[f"decoder.resblocks.{i * nk + j}.{n}.{d}.weight"] = (cout, cout, rk)
                    e[f"decoder.resblocks.{i * nk + j}.{n}.{d}.bias"] = (cout,)
    e["decoder.conv_post.weight"] = (1, C0 // 2 ** len(c["upsample_rates"]), 7)
    if c["num_speakers"] > 1:
        e["embed_speaker.weight"] = (c["num_speakers"], G)
    return e


def unused(name):
    return (name.startswith("posterior_encoder.") or name.startswith("duration_predictor.post_")
            or name.startswith("duration_predictor.flows.1."))


def checked_tensors(sd, want, where):
    """The tensors of want (name -> shape) from sd as f32, each present, of its shape and finite."""
    tensors = {}
    for k, shape in want.items():
        if k not in sd:
            raise Refused(f"tensor {k} missing {where}")
        v = np.asarray(sd[k], dtype=np.float32)
        if tuple(v.shape) != tuple(shape):
            raise Refused(f"tensor {k}: shape {tuple(v.shape)}, expected {tuple(shape)}")
        if not np.all(np.isfinite(v)):
            raise Refused(f"tensor {k}: NaN or infinite values")
        tensors[k] = v
    return tensors


def config_meta(c):
    """The sori.vits hyper-parameter keys of a checked config (resblock_type only when c has it)."""
    meta = {k: int(c[k]) for k in INT_KEYS}
    meta.update({k: float(c[k]) for k in FLOAT_KEYS})
    meta["use_bias"] = bool(c["use_bias"])
    meta["use_stochastic_duration_prediction"] = bool(c["use_stochastic_duration_prediction"])
    meta["hidden_act"] = c["hidden_act"]
    if "resblock_type" in c:
        meta["resblock_type"] = int(c["resblock_type"])
    meta["upsample_rates"] = [int(x) for x in c["upsample_rates"]]
    meta["upsample_kernel_sizes"] = [int(x) for x in c["upsample_kernel_sizes"]]
    meta["resblock_kernel_sizes"] = [int(x) for x in c["resblock_kernel_sizes"]]
    meta["resblock_dilation_counts"] = [len(d) for d in c["resblock_dilation_sizes"]]
    meta["resblock_dilation_sizes"] = [int(x) for d in c["resblock_dilation_sizes"] for x in d]
    return meta


def convert(src, out, f16=False, name=None):
    cfg = json.load(open(os.path.join(src, "config.json")))
    c = check_config(cfg)
    sd = fold_weight_norm(load_state_dict(src))
    want = expected_tensors(c)
    tensors = checked_tensors(sd, want, "from the checkpoint")
    extra = sorted(k for k in sd if k not in want and not unused(k))
    if extra:
        raise Refused(f"tensors sori does not know (an unsupported variant?): {', '.join(extra[:8])}"
                      + (" …" if len(extra) > 8 else ""))
    meta = config_meta(c)
    meta["general.name"] = name or cfg.get("_name_or_path") or os.path.basename(os.path.normpath(src))
    vocab_path = os.path.join(src, "vocab.json")
    if os.path.exists(vocab_path):
        enc = json.load(open(vocab_path, encoding="utf-8"))
        n = max(max(enc.values()) + 1, c["vocab_size"]) if enc else 0
        if n > c["vocab_size"]:
            raise Refused(f"vocab.json has id {n - 1}, beyond vocab_size {c['vocab_size']}")
        tokens = [""] * n
        for tok, i in enc.items():
            tokens[i] = tok
        meta["vocab"] = tokens
    tc_path = os.path.join(src, "tokenizer_config.json")
    if os.path.exists(tc_path):
        tc = json.load(open(tc_path, encoding="utf-8"))
        for k in ("add_blank", "normalize", "phonemize", "is_uroman"):
            if k in tc:
                meta[k] = bool(tc[k])
        if tc.get("language"):
            meta["language"] = str(tc["language"])
    write_model(out, ARCH, meta, tensors, f16=f16)
    return meta, tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("src", help="transformers checkpoint directory (config.json + model.safetensors)")
    ap.add_argument("out", help="output .gguf")
    ap.add_argument("--f16", action="store_true", help="store weights of 2+ dimensions as f16")
    ap.add_argument("--name", help="general.name (default: the checkpoint's)")
    a = ap.parse_args()
    try:
        meta, tensors = convert(a.src, a.out, a.f16, a.name)
    except Refused as e:
        sys.exit(f"vits_to_gguf: {a.src}: {e}")
    n = sum(v.size for v in tensors.values())
    print(f"{a.out}: sori.vits, {len(tensors)} tensors, {n:,} parameters, "
          f"{'f16' if a.f16 else 'f32'}, {meta['sampling_rate']} Hz, {meta['num_speakers']} speaker(s)")


if __name__ == "__main__":
    main()
