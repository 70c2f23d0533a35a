#!/usr/bin/env python3
"""Silero VAD (the ONNX model the PyPI package `silero-vad` ships, MIT) to a
sori GGUF file (`sori.silero_vad`), both of its sample rates.

    pip install -r tools/requirements-silero.txt
    python3 tools/silero_vad_to_gguf.py silero_vad.onnx data/silero-vad.gguf

The ONNX graph chooses between a 16 kHz and an 8 kHz network with an If on
the rate; each branch is the same network: an STFT as a strided Conv1d with a
fixed basis (its real and imaginary halves give the magnitude), four Conv1d +
ReLU encoder layers (kernel 3, padding 1, strides 1, 2, 2, 1), an LSTM cell
(128), ReLU, a 1x1 Conv1d and a sigmoid, averaged over time. The input of one
call is the previous call's last `context` samples and `window` new ones,
padded on the right by reflection. The converter reads every weight and every
Conv's attributes from the graph and refuses a graph that differs, naming
what differs.
"""
import argparse
import hashlib
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sori_gguf import write_model  # noqa: E402

# per rate: the STFT's n_fft and hop, the reflection pad, the samples of
# context carried between calls and the new samples per call (silero-vad's
# OnnxWrapper: 512 at 16 kHz, 256 at 8 kHz)
RATES = {16000: dict(n_fft=256, hop=128, pad=64, context=64, window=512),
         8000: dict(n_fft=128, hop=64, pad=32, context=32, window=256)}
ENC_STRIDES = [1, 2, 2, 1]


def die(msg):
    sys.exit(f"silero_vad_to_gguf: {msg}")


def branch_tensors(g, prefix):
    """Weights (Constant nodes or initializers) and Conv attributes of one branch."""
    from onnx import numpy_helper
    w = {}
    for n in g.node:
        if n.op_type == "Constant" and n.attribute and n.attribute[0].type == 4:  # a tensor
            w[n.output[0].replace(prefix, "")] = numpy_helper.to_array(n.attribute[0].t)
    for init in g.initializer:
        w[init.name.replace(prefix, "")] = numpy_helper.to_array(init)
    convs = []
    for n in g.node:
        if n.op_type == "Conv":
            a = {x.name: list(x.ints) for x in n.attribute if x.ints}
            convs.append((n.input[1].replace(prefix, ""), a.get("strides"), a.get("pads"), a.get("kernel_shape")))
    return w, convs


def convert(onnx_path, out_path, f16=False):
    import onnx
    m = onnx.load(onnx_path)
    ifs = [n for n in m.graph.node if n.op_type == "If"]
    if len(ifs) != 1:
        die(f"{onnx_path}: expected one If on the sample rate at the top, found {len(ifs)} (use silero_vad.onnx)")
    branches = {a.name: a.g for a in ifs[0].attribute}
    tensors, meta = {}, {}
    # then: 16 kHz, else: 8 kHz (the graph compares sr with 16000)
    for bname, rate in (("then_branch", 16000), ("else_branch", 8000)):
        g = branches.get(bname)
        if g is None:
            die(f"no {bname}")
        prefix = f"If_0_{bname}__Inline_0__"
        w, convs = branch_tensors(g, prefix)
        r = RATES[rate]
        need = {"stft.forward_basis_buffer": (r["n_fft"] + 2, 1, r["n_fft"]),
                "decoder.rnn.weight_ih": (512, 128), "decoder.rnn.weight_hh": (512, 128),
                "decoder.rnn.bias_ih": (512,), "decoder.rnn.bias_hh": (512,),
                "decoder.decoder.2.weight": (1, 128, 1), "decoder.decoder.2.bias": (1,)}
        c_in = [r["n_fft"] // 2 + 1, 128, 64, 64]
        c_out = [128, 64, 64, 128]
        for i in range(4):
            need[f"encoder.{i}.reparam_conv.weight"] = (c_out[i], c_in[i], 3)
            need[f"encoder.{i}.reparam_conv.bias"] = (c_out[i],)
        for k, shape in need.items():
            if k not in w:
                die(f"{rate} Hz branch: weight {k} is missing")
            if tuple(w[k].shape) != shape:
                die(f"{rate} Hz branch: {k} has shape {tuple(w[k].shape)}, expected {shape}")
        # the convolutions in graph order: STFT, four encoder layers, the output
        want = [("stft.forward_basis_buffer", [r["hop"]], [0, 0], [r["n_fft"]])]
        want += [(f"encoder.{i}.reparam_conv.weight", [ENC_STRIDES[i]], [1, 1], [3]) for i in range(4)]
        want += [("decoder.decoder.2.weight", [1], [0, 0], [1])]
        if [c for c in convs] != want:
            die(f"{rate} Hz branch: the convolutions differ from the network sori runs: {convs}")
        k = "r16k" if rate == 16000 else "r8k"
        tensors[f"{k}.stft.basis"] = w["stft.forward_basis_buffer"].reshape(r["n_fft"] + 2, r["n_fft"])
        for i in range(4):
            tensors[f"{k}.enc.{i}.weight"] = w[f"encoder.{i}.reparam_conv.weight"]
            tensors[f"{k}.enc.{i}.bias"] = w[f"encoder.{i}.reparam_conv.bias"]
        for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            tensors[f"{k}.lstm.{n}"] = w[f"decoder.rnn.{n}"]
        tensors[f"{k}.out.weight"] = w["decoder.decoder.2.weight"].reshape(1, 128)
        tensors[f"{k}.out.bias"] = w["decoder.decoder.2.bias"]
        for name, v in r.items():
            meta[f"sori.silero_vad.{k}.{name}"] = int(v)
    tensors = {n: np.ascontiguousarray(a, dtype=np.float32) for n, a in tensors.items()}
    with open(onnx_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    meta.update({"hidden": 128, "sample_rates": [16000, 8000]})
    meta["general.name"] = "Silero VAD"
    meta["general.license"] = "MIT"
    meta["general.source"] = f"silero-vad's silero_vad.onnx (sha256 {sha}) by tools/silero_vad_to_gguf.py"
    write_model(out_path, "sori.silero_vad", meta, tensors, f16=f16)
    print(f"{out_path}: Silero VAD, 16 and 8 kHz, {sum(a.size for a in tensors.values())} weights")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("out")
    ap.add_argument("--f16", action="store_true", help="2-D and larger weights as f16")
    a = ap.parse_args()
    convert(a.onnx, a.out, a.f16)


if __name__ == "__main__":
    main()
