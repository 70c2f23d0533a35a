#!/usr/bin/env python3
"""The bundled cache-aware Conformer as sherpa-onnx's streaming NeMo CTC model, for bench_serve's
comparison with sherpa-onnx's WebSocket server on the same weights.

    pip install -r tools/requirements-reference.txt onnx onnxruntime
    python3 bench/sherpa_stream_export.py data/ko-fastconformer-ctc.gguf OUT_DIR

The GGUF's weights go back into NeMo's own modules (the architecture of tools/ko/train.py, with
the unfolded batch norm the export keeps as train.* tensors), NeMo's exporter writes the encoder
and CTC head with cache support (what sherpa-onnx's OnlineNeMoCtcModel runs), the model's fixed
feature normalization ((x - mean) / std per mel bin, which sherpa-onnx does not apply) is put in
front of the graph, and the metadata sherpa-onnx reads is added. OUT_DIR gets model.onnx and
tokens.txt. It checks that the ONNX model's first-step log-probs equal NeMo's own.
"""
import json
import os
import sys

import numpy as np


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    import gguf
    import onnx
    import torch
    from onnx import helper, numpy_helper

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "ko"))
    import logging
    logging.getLogger("nemo_logger").setLevel(logging.ERROR)
    from nemo.collections.asr.models import EncDecCTCModel
    from train import SIZES, model_config

    r = gguf.GGUFReader(src)
    vocab = r.fields["sori.conformer.vocab"]
    pieces = [bytes(vocab.parts[i]).decode() for i in vocab.data]
    t = {x.name: np.array(x.data) for x in r.tensors}
    state = json.loads(bytes(r.fields["sori.train.state"].parts[r.fields["sori.train.state"].data[0]]).decode())
    mean, std = t["features.norm_mean"].ravel().astype(np.float32), t["features.norm_std"].ravel().astype(np.float32)
    cfg = model_config("unused", state.get("size", "s6"), {"mean": mean.tolist(), "std": std.tolist()})
    del cfg["tokenizer"]
    cfg.labels = pieces
    cfg.decoder.vocabulary = pieces
    cfg.decoder.num_classes = len(pieces)
    model = EncDecCTCModel(cfg=cfg)
    own = model.state_dict()
    new = {}
    for k, v in own.items():
        w = t.get("train." + k, t.get(k))
        if k.endswith("num_batches_tracked") or k.startswith("preprocessor."):
            w = v.numpy()
        if w is None or w.size != v.numel():
            sys.exit(f"{src} lacks {k} of shape {tuple(v.shape)}")
        new[k] = torch.from_numpy(w.astype(np.float32).reshape(v.shape)).to(v.dtype)
    model.load_state_dict(new)
    model.eval()
    enc = model.encoder
    enc.setup_streaming_params()
    sc = enc.streaming_cfg
    chunk = sc.chunk_size[1] if isinstance(sc.chunk_size, list) else sc.chunk_size
    pre = sc.pre_encode_cache_size[1] if isinstance(sc.pre_encode_cache_size, list) else sc.pre_encode_cache_size
    model.set_export_config({"cache_support": "True"})
    raw = os.path.join(out, "raw.onnx")
    model.export(raw)

    # (x - mean) / std in front of the graph: the features input is [B, 80, T]
    g = onnx.load(raw)
    feat = g.graph.input[0].name
    normed = feat + "_normed"
    for node in g.graph.node:
        for i, name in enumerate(node.input):
            if name == feat:
                node.input[i] = normed
    g.graph.initializer.extend([numpy_helper.from_array(mean.reshape(1, -1, 1), "sori_norm_mean"),
                                numpy_helper.from_array(std.reshape(1, -1, 1), "sori_norm_std")])
    g.graph.node.insert(0, helper.make_node("Sub", [feat, "sori_norm_mean"], [feat + "_centred"]))
    g.graph.node.insert(1, helper.make_node("Div", [feat + "_centred", "sori_norm_std"], [normed]))
    meta = {
        "vocab_size": len(pieces), "window_size": chunk + pre, "chunk_shift": chunk, "normalize_type": "",
        "cache_last_channel_dim1": len(enc.layers), "cache_last_channel_dim2": sc.last_channel_cache_size,
        "cache_last_channel_dim3": enc.d_model, "cache_last_time_dim1": len(enc.layers),
        "cache_last_time_dim2": enc.d_model, "cache_last_time_dim3": enc.conv_context_size[0],
        "subsampling_factor": 8, "model_type": "EncDecCTCModel", "version": "1", "model_author": "sori",
        "comment": "bench/sherpa_stream_export.py: the bundled model, fixed normalization in the graph",
    }
    del g.graph.metadata_props[:]
    for k, v in meta.items():
        p = g.metadata_props.add()
        p.key, p.value = k, str(v)
    onnx.save(g, os.path.join(out, "model.onnx"))
    os.remove(raw)
    with open(os.path.join(out, "tokens.txt"), "w", encoding="utf-8") as f:
        for i, p in enumerate(pieces):
            f.write(f"{p} {i}\n")
        f.write(f"<blk> {len(pieces)}\n")

    # the ONNX model's first step against NeMo's own cache-aware step, on random features
    import onnxruntime as ort
    sess = ort.InferenceSession(os.path.join(out, "model.onnx"), providers=["CPUExecutionProvider"])
    x = np.random.default_rng(0).standard_normal((1, 80, chunk + pre)).astype(np.float32) * 3 - 8
    c1, c2, c3 = enc.get_initial_cache_state(batch_size=1)
    feed = dict(zip([i.name for i in sess.get_inputs()],
                    [x, np.array([chunk + pre], np.int64), c1.numpy().transpose(1, 0, 2, 3),
                     c2.numpy().transpose(1, 0, 2, 3), c3.numpy()]))  # the export's caches: batch first
    onnx_lp = sess.run(None, feed)[0]
    with torch.no_grad():
        xn = (torch.from_numpy(x) - torch.from_numpy(mean)[None, :, None]) / torch.from_numpy(std)[None, :, None]
        e, el, *_ = enc.cache_aware_stream_step(processed_signal=xn, processed_signal_length=torch.tensor([chunk + pre]),
                                                cache_last_channel=c1, cache_last_time=c2, cache_last_channel_len=c3,
                                                keep_all_outputs=False,
                                                drop_extra_pre_encoded=sc.drop_extra_pre_encoded)
        ref = model.decoder(encoder_output=e).numpy()
    print("frames: NeMo", ref.shape, "ONNX", onnx_lp.shape)
    n = min(ref.shape[1], onnx_lp.shape[1])
    diff = float(np.abs(ref[:, :n] - onnx_lp[:, :n]).max())
    print(f"{out}/model.onnx: window {chunk + pre} frames, shift {chunk}, {len(pieces) + 1} tokens; "
          f"first step vs NeMo: max |diff| {diff:.2e} over {n} frames")
    if diff > 1e-3:
        sys.exit("the exported model does not match NeMo")


if __name__ == "__main__":
    main()
