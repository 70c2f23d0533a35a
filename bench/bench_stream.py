#!/usr/bin/env python3
"""Cache-aware streaming step speed: sori vs onnxruntime on the same model.

Builds a NeMo FastConformer-CTC trained-for-streaming layout (dw_striding x8
with causal downsampling, chunked_limited attention [56, 3] = 320 ms steps,
causal depthwise convolutions, d_model 176, 16 layers) with random weights,
exports its encoder to ONNX with NeMo's own exporter with cache support
(set_export_config cache_support) and converts the .nemo to GGUF; then runs
10 s of features through both, step by step (every step: 9 frames of
pre-encode cache + 32 new frames, caches carried over, as NeMo's
CacheAwareStreamingAudioBuffer with pad_and_drop_preencoded), for batch 1
and batch 16 (streams stepped together), same thread count, in one run;
reports the median time of a step and checks that the encoder outputs agree.

    pip install -r tools/requirements-reference.txt onnxruntime onnx
    python3 bench/bench_stream.py --build build [--threads 2] [--runs 3]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--d-model", type=int, default=176)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    a = ap.parse_args()
    import torch
    import onnxruntime as ort
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(here, "..", "tools"))
    from gen_conformer_fixtures import ctc_model, randomize

    torch.set_num_threads(a.threads)
    tmp = tempfile.mkdtemp()
    m = ctc_model(dict(d_model=a.d_model, n_layers=a.layers, n_heads=4, conv_kernel_size=9,
                       subsampling="dw_striding", subsampling_factor=8, subsampling_conv_channels=a.d_model,
                       causal_downsampling=True, att_context_size=[56, 3], att_context_style="chunked_limited",
                       conv_context_size="causal"))
    randomize(m, 7)
    m.eval()
    nemo = os.path.join(tmp, "m.nemo")
    m.save_to(nemo)
    gguf = os.path.join(tmp, "m.gguf")
    subprocess.run([sys.executable, os.path.join(here, "..", "tools", "nemo_to_gguf.py"), nemo, gguf], check=True,
                   capture_output=True)
    enc = m.encoder
    enc.setup_streaming_params()
    scfg = enc.streaming_cfg
    pre, chunk = scfg.pre_encode_cache_size[1], scfg.chunk_size[1]
    m.set_export_config({"cache_support": "True"})
    onnx = os.path.join(tmp, "enc.onnx")
    enc.export(onnx)
    rng = np.random.default_rng(0)
    feats = rng.standard_normal((a.frames, 80)).astype(np.float32)
    fpath = os.path.join(tmp, "f.f32")
    feats.tofile(fpath)

    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(onnx, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    n_steps = (a.frames + chunk - 1) // chunk
    results = []
    for batch in a.batch:
        times, outs = [], []
        for r in range(a.runs + 1):
            c0, c1, c2 = enc.get_initial_cache_state(batch_size=batch)
            # the export takes batch-first caches
            cache = [c0.transpose(0, 1).numpy(), c1.transpose(0, 1).numpy(), c2.numpy()]
            outs = []
            for k in range(n_steps):
                begin = k * chunk
                n = min(chunk, a.frames - begin)
                x = np.zeros((pre + n, 80), np.float32)
                lo = max(0, begin - pre)
                x[pre - (begin - lo):] = feats[lo:begin + n]
                feed = {names[0]: np.repeat(x.T[None], batch, axis=0).copy(),
                        names[1]: np.full([batch], pre + n, dtype=np.int64),
                        names[2]: cache[0], names[3]: cache[1], names[4]: cache[2]}
                t0 = time.perf_counter()
                o = sess.run(None, feed)
                dt = time.perf_counter() - t0
                if r and n == chunk:
                    times.append(dt)
                cache = [o[2], o[3], o[4]]
                outs.append(o[0][0, :, : int(o[1][0])].T)
        ort_s = statistics.median(times)
        ort_enc = np.concatenate(outs)
        out_path = os.path.join(tmp, "enc.f32")
        res = subprocess.run([os.path.join(a.build, "bin", "bench_stream"), gguf, fpath, str(a.frames), str(a.runs),
                              str(a.threads), str(batch), out_path], check=True, capture_output=True, text=True,
                             env=env)
        sori_s, steps, state = float(res.stdout.split()[0]), int(res.stdout.split()[1]), int(res.stdout.split()[2])
        sori_enc = np.fromfile(out_path, dtype=np.float32).reshape(-1, a.d_model)
        n = min(len(sori_enc), len(ort_enc))
        diff = float(np.abs(sori_enc[:n] - ort_enc[:n]).max()) if n else float("nan")
        results.append((batch, sori_s, ort_s, diff, len(sori_enc), len(ort_enc), state))
    n_params = sum(p.numel() for p in m.encoder.parameters())
    step_ms = chunk * 10
    print(f"FastConformer cache-aware encoder d_model {a.d_model}, {a.layers} layers ({n_params / 1e6:.1f} M "
          f"parameters), steps of {step_ms} ms ({pre} + {chunk} frames), {a.threads} threads, onnxruntime "
          f"{ort.__version__}, median step over {a.runs} x {n_steps} steps:")
    for batch, sori_s, ort_s, diff, ns, no, state in results:
        print(f"  batch {batch:3d}: sori {sori_s * 1e3:7.2f} ms  onnxruntime {ort_s * 1e3:7.2f} ms  "
              f"ratio (ort / sori) {ort_s / sori_s:5.2f}  streams per core in real time (sori) "
              f"{batch * step_ms / 1e3 / sori_s / a.threads:6.1f}  max |enc diff| {diff:.1e} "
              f"({ns}/{no} frames)  state {state / 1024:.0f} KiB/stream")
    print("  goal: ratio >= 1.5 on streaming steps")


if __name__ == "__main__":
    main()
