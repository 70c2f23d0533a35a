#!/usr/bin/env python3
"""Convert a NeMo ASR checkpoint (.nemo) to a sori GGUF model file.

    python3 tools/nemo_to_gguf.py MODEL.nemo OUT.gguf [--f16]

Supported: EncDecCTCModel / EncDecCTCModelBPE, EncDecRNNTModel / EncDecRNNTBPEModel
and the hybrid EncDecHybridRNNTCTC(BPE)Model with a ConformerEncoder
(Conformer and FastConformer: subsampling striding or dw_striding, factor 4
or 8, rel_pos attention, batch-norm or layer-norm convolution module, any
att_context_size / conv_context_size, causal downsampling), a ConvASRDecoder
(CTC) and/or an RNNTDecoder (LSTM prediction network) + RNNTJoint. Anything
else (TDT, other encoders or subsampling) is refused with a message naming it. Runs without a trainer or a GPU: it reads
the archive (model_config.yaml + model_weights.ckpt) with torch and
omegaconf only. Requirements: tools/requirements-reference.txt.

What goes into the file (docs/model-format.md, "sori.conformer"):
  - every encoder/decoder weight under its NeMo name, in PyTorch layout;
    the convolution module's batch norm folded into the depthwise conv
    (exact up to rounding: w' = w * g/sqrt(var+eps), b' = (b - mean) * s + beta);
  - the preprocessor settings and the checkpoint's own window and mel
    filterbank, so features are computed exactly as in training;
  - streaming settings and the vocabulary (character labels or
    SentencePiece pieces).
With --f16, weight matrices and convolution kernels are stored as f16.

Tensors named train.* are for trainers, not the engine (which ignores them):
with a folded batch norm, the unfolded depthwise kernel and the norm's own
parameters and statistics are kept there in f32, so training can resume from
the GGUF alone. --extra NPZ adds more of them (a recipe's auxiliary heads) and
--train-state JSON stores its training state as the string "sori.train.state".
"""
import argparse
import io
import json
import os
import sys
import tarfile

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sori_gguf import write_model  # noqa: E402


def die(msg):
    sys.exit(f"nemo_to_gguf: {msg}")


def read_nemo(path):
    cfg = weights = None
    tokenizer_model = None
    with tarfile.open(path) as tar:
        for m in tar.getmembers():
            base = os.path.basename(m.name)
            if base == "model_config.yaml":
                cfg = yaml.safe_load(tar.extractfile(m).read())
            elif base == "model_weights.ckpt":
                weights = torch.load(io.BytesIO(tar.extractfile(m).read()), map_location="cpu", weights_only=True)
            elif base.endswith(".model") and "tokenizer" in base:
                tokenizer_model = tar.extractfile(m).read()
    if cfg is None or weights is None:
        die(f"{path}: not a .nemo archive (model_config.yaml and model_weights.ckpt expected)")
    return cfg, weights, tokenizer_model


def target(section):
    return (section or {}).get("_target_", "").split(".")[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("nemo")
    ap.add_argument("out")
    ap.add_argument("--f16", action="store_true")
    ap.add_argument("--extra", help="NPZ of more training-only tensors, each named train.*")
    ap.add_argument("--train-state", help="JSON file of the training state to keep in the file")
    ap.add_argument("--data-card", help="text file: what the model saw and how it was trained (sori.data_card)")
    a = ap.parse_args()
    cfg, sd, spm = read_nemo(a.nemo)

    enc, dec, pre = cfg.get("encoder", {}), cfg.get("decoder", {}), cfg.get("preprocessor", {})
    if target(enc) != "ConformerEncoder":
        die(f"encoder {target(enc) or '?'} is not supported (ConformerEncoder only)")
    joint = cfg.get("joint", {})
    aux_ctc = (cfg.get("aux_ctc") or {}).get("decoder", {})
    if target(dec) == "ConvASRDecoder":
        head, ctc_dec = "ctc", dec
    elif target(dec) == "RNNTDecoder" and target(joint) == "RNNTJoint":
        durations = (cfg.get("model_defaults") or {}).get("tdt_durations") or []
        if durations or int(joint.get("num_extra_outputs", 0) or 0) or \
                str((cfg.get("loss") or {}).get("loss_name", "")).startswith("tdt"):
            die("TDT (token-and-duration transducer) heads are not supported (RNN-T and CTC only)")
        if target(aux_ctc) == "ConvASRDecoder":
            head, ctc_dec = "hybrid", aux_ctc
        else:
            head, ctc_dec = "rnnt", None
    else:
        die(f"decoder {target(dec) or '?'} (joint {target(joint) or 'none'}) is not supported "
            "(CTC ConvASRDecoder, RNN-T RNNTDecoder + RNNTJoint, or both as a hybrid)")
    if target(pre) != "AudioToMelSpectrogramPreprocessor":
        die(f"preprocessor {target(pre) or '?'} is not supported")
    sub = enc.get("subsampling", "striding")
    if sub not in ("striding", "dw_striding"):
        die(f"subsampling '{sub}' is not supported (striding, dw_striding)")
    if enc.get("subsampling_factor", 4) not in (4, 8):
        die(f"subsampling_factor {enc.get('subsampling_factor')} is not supported (4, 8)")
    if enc.get("self_attention_model", "rel_pos") != "rel_pos":
        die(f"self_attention_model '{enc.get('self_attention_model')}' is not supported (rel_pos)")
    if enc.get("reduction") or enc.get("global_tokens", 0):
        die("time reduction and global tokens are not supported")
    if enc.get("subsampling_conv_chunking_factor", 1) not in (1, -1):
        pass  # chunking only changes how NeMo schedules the convolution, not its result

    d_model = int(enc["d_model"])
    n_layers = int(enc["n_layers"])
    kernel = int(enc.get("conv_kernel_size", 31))
    conv_ch = int(enc.get("subsampling_conv_channels", -1))
    if conv_ch == -1:
        conv_ch = d_model
    ccs = enc.get("conv_context_size")
    if ccs is None or ccs == "regular":
        ccs = [(kernel - 1) // 2, (kernel - 1) // 2]
    elif ccs == "causal":
        ccs = [kernel - 1, 0]
    acs = enc.get("att_context_size") or [-1, -1]
    if isinstance(acs[0], (list, tuple)):  # multi-lookahead models: the first is the default
        acs = acs[0]
    norm_type = enc.get("conv_norm_type", "batch_norm")
    if norm_type not in ("batch_norm", "layer_norm"):
        die(f"conv_norm_type '{norm_type}' is not supported")

    meta = {
        "general.name": os.path.splitext(os.path.basename(a.nemo))[0],
        "general.source": "converted from NeMo by tools/nemo_to_gguf.py",
        "feat_in": int(enc["feat_in"]),
        "n_layers": n_layers,
        "d_model": d_model,
        "n_heads": int(enc.get("n_heads", 4)),
        "ff_expansion_factor": int(enc.get("ff_expansion_factor", 4)),
        "subsampling": sub,
        "subsampling_factor": int(enc.get("subsampling_factor", 4)),
        "subsampling_conv_channels": conv_ch,
        "causal_downsampling": bool(enc.get("causal_downsampling", False)),
        "xscaling": bool(enc.get("xscaling", True)),
        "pos_emb_max_len": int(enc.get("pos_emb_max_len", 5000)),
        "conv_kernel_size": kernel,
        "conv_norm_type": norm_type,
        "conv_context_left": int(ccs[0]),
        "conv_context_right": int(ccs[1]),
        "att_context_left": int(acs[0]),
        "att_context_right": int(acs[1]),
        "att_context_style": str(enc.get("att_context_style", "regular")),
        "use_bias": bool(enc.get("use_bias", True)),
        "head": head,
    }
    if head != "ctc":
        pn = dec.get("prednet") or {}
        jn = joint.get("jointnet") or {}
        act = str(jn.get("activation", "relu")).lower()
        if act not in ("relu", "tanh", "sigmoid"):
            die(f"joint activation '{act}' is not supported (relu, tanh, sigmoid)")
        if pn.get("rnn_type", "lstm") != "lstm":
            die(f"prediction network rnn_type '{pn.get('rnn_type')}' is not supported (lstm)")
        if dec.get("normalization_mode") not in (None, "None", "null"):
            die(f"prediction network normalization_mode '{dec.get('normalization_mode')}' is not supported")
        if not dec.get("blank_as_pad", True):
            die("prediction networks without blank_as_pad are not supported")
        greedy = ((cfg.get("decoding") or {}).get("greedy") or {})
        meta.update({
            "sori.conformer.rnnt.pred_hidden": int(pn["pred_hidden"]),
            "sori.conformer.rnnt.pred_rnn_layers": int(pn.get("pred_rnn_layers", 1)),
            "sori.conformer.rnnt.joint_hidden": int(jn["joint_hidden"]),
            "sori.conformer.rnnt.joint_activation": act,
            "sori.conformer.rnnt.max_symbols": int(greedy.get("max_symbols", 10) or 10),
        })
    # vocabulary
    labels = (ctc_dec or {}).get("vocabulary") or joint.get("vocabulary") or cfg.get("labels")
    tok = cfg.get("tokenizer")
    if tok and spm is not None:
        try:
            import sentencepiece as sp
            proc = sp.SentencePieceProcessor(model_proto=spm)
            labels = [proc.id_to_piece(i) for i in range(proc.get_piece_size())]
            meta["tokenizer"] = "sentencepiece"
        except ImportError:
            die("the checkpoint has a SentencePiece tokenizer: pip install sentencepiece")
    else:
        meta["tokenizer"] = "chars"
    if not labels:
        die("no vocabulary found (decoder.vocabulary, labels or tokenizer)")
    for what, sec in (("CTC decoder", ctc_dec), ("joint", joint if head != "ctc" else None)):
        n_classes = int((sec or {}).get("num_classes", len(labels)))
        if sec is not None and n_classes != len(labels):
            die(f"{what} has {n_classes} classes but the vocabulary {len(labels)}")
    meta["vocab"] = [str(x) for x in labels]
    meta["blank_id"] = len(labels)  # ConvASRDecoder: the blank is the last class
    # features
    feat_norm = pre.get("normalize", "per_feature")
    fixed_norm = None
    if hasattr(feat_norm, "keys"):  # NeMo's {fixed_mean: [...], fixed_std: [...]}
        if "fixed_mean" not in feat_norm or "fixed_std" not in feat_norm:
            die(f"features.normalize {dict(feat_norm)} is not supported (only fixed_mean/fixed_std)")
        fixed_norm = (np.asarray(list(feat_norm["fixed_mean"]), np.float32).reshape(-1),
                      np.asarray(list(feat_norm["fixed_std"]), np.float32).reshape(-1))
        if fixed_norm[0].size != int(pre.get("features", 64)) or fixed_norm[1].size != fixed_norm[0].size:
            die("fixed_mean / fixed_std must have one value per mel bin")
        feat_norm = "fixed"
    meta.update({
        "features.kind": "nemo",
        "features.sample_rate": int(pre.get("sample_rate", 16000)),
        "features.n_mels": int(pre.get("features", 64)),
        "features.n_fft": int(pre.get("n_fft") or 512),
        "features.win_length": int(round(pre.get("window_size", 0.02) * pre.get("sample_rate", 16000))),
        "features.hop_length": int(round(pre.get("window_stride", 0.01) * pre.get("sample_rate", 16000))),
        "features.normalize": str(feat_norm if feat_norm not in (None, "None", "none", "NA") else "none"),
        "features.preemph": float(pre.get("preemph", 0.97) or 0.0),
        "features.log_guard": float(2 ** -24),
        "features.mag_power": float(pre.get("mag_power", 2.0)),
        "features.pad_to": int(pre.get("pad_to", 16) or 0),
        "features.dither": 0.0,
    })
    if pre.get("log_zero_guard_type", "add") != "add" or pre.get("log", True) is not True:
        die("only log features with an additive guard are supported")

    tensors = {}

    def put(name, t):
        arr = t.detach().to(torch.float32).numpy()
        if a.f16 and arr.ndim >= 2 and arr.size >= 1024:
            arr = arr.astype(np.float16)
        tensors[name] = arr

    if fixed_norm is not None:
        tensors["features.norm_mean"], tensors["features.norm_std"] = fixed_norm
    if "preprocessor.featurizer.window" in sd:
        tensors["features.window"] = sd["preprocessor.featurizer.window"].float().numpy()
    if "preprocessor.featurizer.fb" in sd:
        tensors["features.mel_filterbank"] = sd["preprocessor.featurizer.fb"].float().numpy()[0]

    untied = bool(enc.get("untie_biases", True))
    used = set()
    # CTC head -> decoder.decoder_layers.0.*; RNN-T prediction network and
    # joint -> rnnt.prediction.* / rnnt.joint.*
    def rename(k):
        if head == "ctc":
            return k if k.startswith(("encoder.", "decoder.")) else None
        if k.startswith("encoder."):
            return k
        if k.startswith("ctc_decoder."):
            return "decoder." + k[len("ctc_decoder."):]
        if k.startswith("decoder.prediction."):
            return "rnnt.prediction." + k[len("decoder.prediction."):]
        if k.startswith("joint.joint_net."):  # Sequential(act[, dropout], Linear): its Linear
            return "rnnt.joint.out." + k.rsplit(".", 1)[1]
        if k.startswith("joint."):
            return "rnnt.joint." + k[len("joint."):]
        return None

    for k, v in sd.items():
        if rename(k) is None or k.endswith("num_batches_tracked"):
            continue
        if ".conv.batch_norm." in k and norm_type == "batch_norm":
            continue  # folded below
        if k in ("encoder.pos_bias_u", "encoder.pos_bias_v"):
            continue
        put(rename(k), v)
        used.add(k)
    if head != "ctc":
        for layer in range(meta["sori.conformer.rnnt.pred_rnn_layers"]):
            for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if f"decoder.prediction.dec_rnn.lstm.{w}_l{layer}" not in sd:
                    die(f"prediction network tensor {w}_l{layer} is missing")
    for i in range(n_layers):
        p = f"encoder.layers.{i}."
        if not untied:
            for uv in ("u", "v"):
                put(p + f"self_attn.pos_bias_{uv}", sd[f"encoder.pos_bias_{uv}"])
        if norm_type == "batch_norm":
            w = sd[p + "conv.depthwise_conv.weight"].double()
            b = sd.get(p + "conv.depthwise_conv.bias")
            b = b.double() if b is not None else torch.zeros(w.shape[0], dtype=torch.float64)
            mean = sd[p + "conv.batch_norm.running_mean"].double()
            var = sd[p + "conv.batch_norm.running_var"].double()
            gamma = sd[p + "conv.batch_norm.weight"].double()
            beta = sd[p + "conv.batch_norm.bias"].double()
            s = gamma / torch.sqrt(var + 1e-5)
            put(p + "conv.depthwise_conv.weight", w * s[:, None, None])
            put(p + "conv.depthwise_conv.bias", (b - mean) * s + beta)
            keep = {"conv.depthwise_conv.weight": w, "conv.depthwise_conv.bias": b, "conv.batch_norm.weight": gamma,
                    "conv.batch_norm.bias": beta, "conv.batch_norm.running_mean": mean,
                    "conv.batch_norm.running_var": var}
            for k, v in keep.items():
                tensors["train." + p + k] = v.to(torch.float32).numpy()
    if a.extra:
        with np.load(a.extra) as z:
            for k in z.files:
                if not k.startswith("train."):
                    die(f"{a.extra}: tensor {k} is not named train.*")
                tensors[k] = z[k].astype(np.float32)
    if a.data_card:
        with open(a.data_card, encoding="utf-8") as f:
            meta["sori.data_card"] = f.read()
    if a.train_state:
        with open(a.train_state) as f:
            meta["sori.train.state"] = json.dumps(json.load(f))
    meta["conv_norm_folded"] = norm_type == "batch_norm"
    write_model(a.out, "sori.conformer", meta, tensors)
    n_params = sum(t.size for t in tensors.values())
    print(f"{a.out}: {len(tensors)} tensors, {n_params} values, vocabulary {len(labels)} + blank")


if __name__ == "__main__":
    main()
