#!/usr/bin/env python3
"""Convert a Piper voice (VOICE.onnx + VOICE.onnx.json, as Piper's
`export_onnx` writes them) to sori's VITS GGUF (`sori.vits`,
docs/model-format.md): the same engine as transformers' VitsModel voices.

    pip install -r tools/requirements-piper.txt      # onnx, numpy, gguf
    python3 tools/piper_to_gguf.py VOICE.onnx OUT.gguf [--config VOICE.onnx.json] [--f16] [--name NAME]

Piper's network is the original VITS (jaywalnut310/vits), of which
transformers' VitsModel is a port; its ONNX graph is TorchScript-exported,
so:
  - the hyper-parameters are read from the tensors' shapes and the nodes'
    attributes (Piper's JSON has none): hidden size, layers, heads (from the
    relative-position tables), window, FFN, flow and WaveNet sizes and
    dilation rate, duration predictor (stochastic or not), upsampling
    rates and kernels, the HiFi-GAN's residual blocks (ResBlock1 or Piper's
    ResBlock2, kernels, dilations), the LeakyReLU slope, speakers;
  - tensors are found by the module path in the name of the node that reads
    them (`/flow/flows.0/enc/in_layers.0/Conv` → `flow.flows.0.enc.in_layers.0`),
    because the exporter folds weight norm into unnamed constants
    (`onnx::Conv_123`), names the token embedding after an input, and folds
    the duration flow's exp(−logs);
  - they are renamed to transformers' names (the mapping of transformers'
    own converter for original VITS checkpoints), so sori's loader and
    tools/vits_to_gguf.py's shape checks apply unchanged.
From the JSON: the sample rate, the inference defaults (noise_scale,
length_scale → speaking_rate, noise_w → noise_scale_duration), the
phoneme_id_map (written as the vocabulary; pad "_" must be id 0; BOS "^"
and EOS "$" become bos_id / eos_id, so ids are framed as Piper frames them:
^ _ p₁ _ p₂ … _ $), and the speaker names. Voices whose espeak voice is
Korean (`ko`) are marked phonemes = "ko-ipa": sori's text layer
(TN → G2P → IPA, text/ipa.c) makes their phonemes, close to but not the
same as espeak-ng's Korean IPA that such a voice was trained on. Other
languages' voices load and speak from phoneme ids (sori has no espeak-ng
phonemizer: it is GPL).
Anything unexpected is refused by name.
"""
import argparse
import json
import os
import re
import sys


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import vits_to_gguf  # noqa: E402
from sori_gguf import write_model  # noqa: E402

Refused = vits_to_gguf.Refused


def module_path(node_name):
    """'/flow/flows.0/enc/in_layers.0/Conv' -> 'flow.flows.0.enc.in_layers.0'"""
    parts = [p for p in node_name.split("/") if p]
    return ".".join(parts[:-1])


def read_graph(path):
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts = {}
    for n in g.node:  # Constant nodes hold values too
        if n.op_type == "Constant" and n.attribute and n.attribute[0].name == "value":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    return g, inits, consts


def attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            import onnx
            return onnx.helper.get_attribute_value(a)
    return default


def collect(g, inits):
    """Original-VITS parameter names → arrays, and per-module node attributes."""
    P = {k: v for k, v in inits.items() if re.match(r"^[a-z_]+[a-z0-9_]*\.", k) and not k.startswith("onnx::")}
    conv_attrs = {}
    inputs = {i.name for i in g.input}
    for n in g.node:
        if n.op_type in ("Conv", "ConvTranspose"):
            mp = module_path(n.name)
            if not mp:
                raise Refused(f"node {n.name!r}: a convolution without a module path in its name (an export by "
                              "torch older than 1.13, whose node names carry no module scopes, so folded "
                              "weights cannot be matched to their layers: re-export the checkpoint with "
                              "Piper's export_onnx under torch >= 1.13)")
            conv_attrs[mp] = n
            for slot, suffix in ((1, "weight"), (2, "bias")):
                if len(n.input) > slot and n.input[slot] in inits:
                    P.setdefault(f"{mp}.{suffix}", inits[n.input[slot]])
        elif n.op_type == "Gather" and len(n.input) == 2 and n.input[0] in inits and n.input[1] in inputs:
            which = {"input": "enc_p.emb.weight", "sid": "emb_g.weight"}.get(n.input[1])
            if which:
                P[which] = inits[n.input[0]]
        elif n.op_type == "Exp" and module_path(n.name) == "dp.flows.0" and n.input[0] in inits:
            P.setdefault("dp.flows.0.logs", -inits[n.input[0]])  # exp(−logs) with the negation folded
    slopes = {round(float(attr(n, "alpha", 0.01)), 6) for n in g.node if n.op_type == "LeakyRelu" and "/dec/" in n.name}
    return P, conv_attrs, slopes


def count(P, pattern):
    idx = {int(m.group(1)) for k in P for m in [re.match(pattern, k)] if m}
    if idx and idx != set(range(max(idx) + 1)):
        raise Refused(f"{pattern}: indices {sorted(idx)} are not 0..n-1")
    return len(idx)


def hyper(P, conv_attrs, slopes, cfg_json):
    def need(k):
        if k not in P:
            raise Refused(f"tensor {k} not found in the graph (not a Piper/VITS voice?)")
        return P[k]

    emb = need("enc_p.emb.weight")
    V, H = emb.shape
    L = count(P, r"enc_p\.encoder\.attn_layers\.(\d+)\.conv_q\.weight")
    rel = need("enc_p.encoder.attn_layers.0.emb_rel_k")
    hd = rel.shape[2]
    if rel.shape[0] != 1 or H % hd:
        raise Refused(f"emb_rel_k shape {rel.shape}: heads sharing one table expected")
    c1 = need("enc_p.encoder.ffn_layers.0.conv_1.weight")
    F = need("enc_p.proj.weight").shape[0] // 2
    sdp = "dp.flows.0.m" in P
    c = {"model_type": "vits", "vocab_size": int(V), "hidden_size": int(H), "num_hidden_layers": L,
         "num_attention_heads": int(H // hd), "window_size": int((rel.shape[1] - 1) // 2), "use_bias": True,
         "ffn_dim": int(c1.shape[0]), "ffn_kernel_size": int(c1.shape[2]), "flow_size": int(F), "hidden_act": "relu",
         "layer_norm_eps": 1e-5, "use_stochastic_duration_prediction": sdp}
    if sdp:
        flows = sorted({int(m.group(1)) for k in P for m in [re.match(r"dp\.flows\.(\d+)\.pre\.weight", k)] if m})
        # original: [affine, (ConvFlow, Flip) × n]; reverse mode drops the first ConvFlow (index 1)
        if not flows or flows != list(range(3, 2 * len(flows) + 2, 2)):
            raise Refused(f"duration flows at {flows}: expected 3, 5, … (ConvFlow, Flip pairs)")
        c["duration_predictor_num_flows"] = len(flows) + 1
        c["depth_separable_num_layers"] = count(P, r"dp\.convs\.convs_sep\.(\d+)\.weight")
        c["duration_predictor_kernel_size"] = int(need("dp.convs.convs_sep.0.weight").shape[2])
        nb3 = need(f"dp.flows.{flows[0]}.proj.weight").shape[0]
        if (nb3 + 1) % 3:
            raise Refused(f"dp.flows.{flows[0]}.proj: {nb3} outputs is not 3·bins − 1")
        c["duration_predictor_flow_bins"] = (nb3 + 1) // 3
        c["duration_predictor_tail_bound"] = 5.0  # modules.ConvFlow's default, as every VITS export uses
        if need("dp.pre.weight").shape[0] != H:
            raise Refused("stochastic duration predictor's width differs from the hidden size")
    else:
        d1 = need("dp.conv_1.weight")
        c["duration_predictor_filter_channels"] = int(d1.shape[0])
        c["duration_predictor_kernel_size"] = int(d1.shape[2])
    coup = sorted({int(m.group(1)) for k in P for m in [re.match(r"flow\.flows\.(\d+)\.pre\.weight", k)] if m})
    if not coup or coup != list(range(0, 2 * len(coup), 2)):
        raise Refused(f"coupling layers at {coup}: expected 0, 2, … (coupling, Flip pairs)")
    c["prior_encoder_num_flows"] = len(coup)
    nl = count(P, r"flow\.flows\.0\.enc\.in_layers\.(\d+)\.weight")
    c["prior_encoder_num_wavenet_layers"] = nl
    c["wavenet_kernel_size"] = int(need("flow.flows.0.enc.in_layers.0.weight").shape[2])
    rate = 1
    if nl > 1:
        rate = int(attr(conv_attrs["flow.flows.0.enc.in_layers.1"], "dilations", [1])[0])
    c["wavenet_dilation_rate"] = rate
    if "flow.flows.0.enc.cond_layer.weight" in P or "emb_g.weight" in P:
        c["num_speakers"] = int(need("emb_g.weight").shape[0])
        c["speaker_embedding_size"] = int(need("emb_g.weight").shape[1])
    else:
        c["num_speakers"], c["speaker_embedding_size"] = 1, 0
    c["upsample_initial_channel"] = int(need("dec.conv_pre.weight").shape[0])
    n_up = count(P, r"dec\.ups\.(\d+)\.weight")
    c["upsample_rates"] = [int(attr(conv_attrs[f"dec.ups.{i}"], "strides")[0]) for i in range(n_up)]
    c["upsample_kernel_sizes"] = [int(P[f"dec.ups.{i}.weight"].shape[2]) for i in range(n_up)]
    for i in range(n_up):
        pads = attr(conv_attrs[f"dec.ups.{i}"], "pads", [0, 0])
        k, u = c["upsample_kernel_sizes"][i], c["upsample_rates"][i]
        if list(pads)[:2] != [(k - u) // 2] * 2 or attr(conv_attrs[f"dec.ups.{i}"], "output_padding"):
            raise Refused(f"dec.ups.{i}: padding {list(pads)}, expected (k − stride)/2 = {(k - u) // 2}")
    n_rb = count(P, r"dec\.resblocks\.(\d+)\.")
    if n_rb % n_up:
        raise Refused(f"{n_rb} residual blocks for {n_up} upsampling stages")
    nk = n_rb // n_up
    rb2 = "dec.resblocks.0.convs.0.weight" in P
    c["resblock_type"] = 2 if rb2 else 1
    first = "convs" if rb2 else "convs1"
    c["resblock_kernel_sizes"] = [int(P[f"dec.resblocks.{j}.{first}.0.weight"].shape[2]) for j in range(nk)]
    c["resblock_dilation_sizes"] = []
    for j in range(nk):
        nd = count(P, rf"dec\.resblocks\.{j}\.{first}\.(\d+)\.weight")
        c["resblock_dilation_sizes"].append(
            [int(attr(conv_attrs[f"dec.resblocks.{j}.{first}.{d}"], "dilations", [1])[0]) for d in range(nd)])
    main_slopes = sorted(slopes - {0.01}) or [0.01]
    if len(main_slopes) != 1:
        raise Refused(f"the HiFi-GAN uses LeakyReLU slopes {sorted(slopes)}: one slope (and 0.01 before conv_post)")
    c["leaky_relu_slope"] = main_slopes[0]
    inf = cfg_json.get("inference", {})
    ls = float(inf.get("length_scale", 1.0))
    c["speaking_rate"] = 1.0 / ls if ls > 0 else 1.0
    c["noise_scale"] = float(inf.get("noise_scale", 0.667))
    c["noise_scale_duration"] = float(inf.get("noise_w", 0.8))
    c["sampling_rate"] = int(cfg_json.get("audio", {}).get("sample_rate", 22050))
    c["depth_separable_channels"] = 2
    return c


def rename(P, c):
    """original VITS names → transformers' VitsModel names (2-D Linear weights squeezed)."""
    out = {}
    sq = lambda a: a.reshape(a.shape[0], a.shape[1])  # noqa: E731

    def put(dst, src, f=None):
        if src not in P:
            raise Refused(f"tensor {src} not found in the graph")
        out[dst] = f(P[src]) if f else P[src]

    put("text_encoder.embed_tokens.weight", "enc_p.emb.weight")
    for i in range(c["num_hidden_layers"]):
        s, d = f"enc_p.encoder.", f"text_encoder.encoder.layers.{i}."
        for a, b in (("q", "q"), ("k", "k"), ("v", "v"), ("o", "out")):
            put(d + f"attention.{b}_proj.weight", s + f"attn_layers.{i}.conv_{a}.weight", sq)
            put(d + f"attention.{b}_proj.bias", s + f"attn_layers.{i}.conv_{a}.bias")
        for r in ("k", "v"):
            put(d + f"attention.emb_rel_{r}", s + f"attn_layers.{i}.emb_rel_{r}")
        for a, b in (("norm_layers_1", "layer_norm"), ("norm_layers_2", "final_layer_norm")):
            put(d + b + ".weight", s + f"{a}.{i}.gamma")
            put(d + b + ".bias", s + f"{a}.{i}.beta")
        for n in ("conv_1", "conv_2"):
            for t in ("weight", "bias"):
                put(d + f"feed_forward.{n}.{t}", s + f"ffn_layers.{i}.{n}.{t}")
    for t in ("weight", "bias"):
        put(f"text_encoder.project.{t}", f"enc_p.proj.{t}")
    G = c["speaker_embedding_size"]

    def dds(dst, src):
        for i in range(c["depth_separable_num_layers"]):
            for t in ("weight", "bias"):
                put(f"{dst}convs_dilated.{i}.{t}", f"{src}convs_sep.{i}.{t}")
                put(f"{dst}convs_pointwise.{i}.{t}", f"{src}convs_1x1.{i}.{t}")
            for n in ("norms_1", "norms_2"):
                put(f"{dst}{n}.{i}.weight", f"{src}{n}.{i}.gamma")
                put(f"{dst}{n}.{i}.bias", f"{src}{n}.{i}.beta")

    dp = "duration_predictor."
    if c["use_stochastic_duration_prediction"]:
        for a, b in (("pre", "conv_pre"), ("proj", "conv_proj")):
            for t in ("weight", "bias"):
                put(f"{dp}{b}.{t}", f"dp.{a}.{t}")
        dds(dp + "conv_dds.", "dp.convs.")
        if G:
            for t in ("weight", "bias"):
                put(f"{dp}cond.{t}", f"dp.cond.{t}")
        put(dp + "flows.0.translate", "dp.flows.0.m")
        put(dp + "flows.0.log_scale", "dp.flows.0.logs")
        for j in range(2, c["duration_predictor_num_flows"] + 1):
            s = f"dp.flows.{2 * j - 1}."
            for a, b in (("pre", "conv_pre"), ("proj", "conv_proj")):
                for t in ("weight", "bias"):
                    put(f"{dp}flows.{j}.{b}.{t}", f"{s}{a}.{t}")
            dds(f"{dp}flows.{j}.conv_dds.", s + "convs.")
    else:
        for n in ("conv_1", "conv_2", "proj") + (("cond",) if G else ()):
            for t in ("weight", "bias"):
                put(f"{dp}{n}.{t}", f"dp.{n}.{t}")
        for n in ("norm_1", "norm_2"):
            put(f"{dp}{n}.weight", f"dp.{n}.gamma")
            put(f"{dp}{n}.bias", f"dp.{n}.beta")
    for j in range(c["prior_encoder_num_flows"]):
        s, d = f"flow.flows.{2 * j}.", f"flow.flows.{j}."
        for t in ("weight", "bias"):
            put(f"{d}conv_pre.{t}", f"{s}pre.{t}")
            put(f"{d}conv_post.{t}", f"{s}post.{t}")
            if G:
                put(f"{d}wavenet.cond_layer.{t}", f"{s}enc.cond_layer.{t}")
            for i in range(c["prior_encoder_num_wavenet_layers"]):
                put(f"{d}wavenet.in_layers.{i}.{t}", f"{s}enc.in_layers.{i}.{t}")
                put(f"{d}wavenet.res_skip_layers.{i}.{t}", f"{s}enc.res_skip_layers.{i}.{t}")
    for t in ("weight", "bias"):
        put(f"decoder.conv_pre.{t}", f"dec.conv_pre.{t}")
        if G:
            put(f"decoder.cond.{t}", f"dec.cond.{t}")
        for i in range(len(c["upsample_rates"])):
            put(f"decoder.upsampler.{i}.{t}", f"dec.ups.{i}.{t}")
    nk = len(c["resblock_kernel_sizes"])
    for j in range(len(c["upsample_rates"]) * nk):
        for d in range(len(c["resblock_dilation_sizes"][j % nk])):
            for t in ("weight", "bias"):
                if c["resblock_type"] == 2:
                    put(f"decoder.resblocks.{j}.convs1.{d}.{t}", f"dec.resblocks.{j}.convs.{d}.{t}")
                else:
                    put(f"decoder.resblocks.{j}.convs1.{d}.{t}", f"dec.resblocks.{j}.convs1.{d}.{t}")
                    put(f"decoder.resblocks.{j}.convs2.{d}.{t}", f"dec.resblocks.{j}.convs2.{d}.{t}")
    put("decoder.conv_post.weight", "dec.conv_post.weight")
    if c["num_speakers"] > 1:
        put("embed_speaker.weight", "emb_g.weight")
    return out


def vocabulary(cfg_json, V):
    m = cfg_json.get("phoneme_id_map")
    if not isinstance(m, dict) or not m:
        raise Refused("the config has no phoneme_id_map")
    tokens = [""] * V
    for ph, ids in m.items():
        for i in (ids if isinstance(ids, list) else [ids]):
            if not isinstance(i, int) or not 0 <= i < V:
                raise Refused(f"phoneme_id_map: {ph!r} → {i}, outside the model's {V} ids")
            if tokens[i] and tokens[i] != ph:
                raise Refused(f"phoneme_id_map: id {i} is both {tokens[i]!r} and {ph!r}")
            tokens[i] = ph
    if m.get("_") != [0]:
        raise Refused(f"phoneme_id_map: the pad '_' is {m.get('_')}, sori expects id 0")
    return tokens, m


def convert(onnx_path, config_path, out, f16=False, name=None):
    cfg_json = json.load(open(config_path, encoding="utf-8"))
    g, inits, _ = read_graph(onnx_path)
    P, conv_attrs, slopes = collect(g, inits)
    c = hyper(P, conv_attrs, slopes, cfg_json)
    tensors = rename(P, c)
    c = vits_to_gguf.check_config(c)
    want = vits_to_gguf.expected_tensors(c)
    extra = sorted(set(tensors) - set(want))
    if extra:
        raise Refused(f"tensors left over: {extra[:8]}")
    checked = vits_to_gguf.checked_tensors(tensors, want, "after renaming")
    tensors = {k: checked[k] for k in tensors}  # in the renaming's order
    meta = vits_to_gguf.config_meta(c)
    tokens, idmap = vocabulary(cfg_json, c["vocab_size"])
    meta["vocab"] = tokens
    meta["add_blank"] = True
    for sym, key in (("^", "bos_id"), ("$", "eos_id")):
        if sym in idmap:
            meta[key] = int(idmap[sym][0])
    voice = (cfg_json.get("espeak") or {}).get("voice", "")
    lang = (cfg_json.get("language") or {}).get("code", "") or voice
    if lang:
        meta["language"] = str(lang)
    if voice.split("-")[0] == "ko" or lang.lower().startswith("ko"):
        meta["phonemes"] = "ko-ipa"
    spk = cfg_json.get("speaker_id_map") or {}
    if c["num_speakers"] > 1 and spk:
        names = [""] * c["num_speakers"]
        for n, i in spk.items():
            if 0 <= int(i) < len(names):
                names[int(i)] = str(n)
        meta["speaker_names"] = names
    meta["source"] = "piper"
    meta["general.name"] = name or cfg_json.get("dataset") or os.path.splitext(os.path.basename(onnx_path))[0]
    write_model(out, vits_to_gguf.ARCH, meta, tensors, f16=f16)
    return meta, tensors


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("onnx", help="the Piper voice's .onnx")
    ap.add_argument("out", help="output .gguf")
    ap.add_argument("--config", help="the voice's JSON (default: ONNX path + .json)")
    ap.add_argument("--f16", action="store_true", help="store weights of 2+ dimensions as f16")
    ap.add_argument("--name", help="general.name (default: the config's dataset)")
    a = ap.parse_args()
    cfg = a.config or a.onnx + ".json"
    try:
        meta, tensors = convert(a.onnx, cfg, a.out, a.f16, a.name)
    except (Refused, OSError, ValueError, KeyError) as e:
        sys.exit(f"piper_to_gguf: {a.onnx}: {e}")
    n = sum(v.size for v in tensors.values())
    print(f"{a.out}: sori.vits (from Piper), {len(tensors)} tensors, {n:,} parameters, "
          f"{'f16' if a.f16 else 'f32'}, {meta['sampling_rate']} Hz, {meta['num_speakers']} speaker(s), "
          f"ResBlock{meta['resblock_type']}, {'stochastic' if meta['use_stochastic_duration_prediction'] else 'deterministic'} durations")


if __name__ == "__main__":
    main()
