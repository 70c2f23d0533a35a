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
reports the median time of a full step over all runs, the spread of the
runs' medians, and checks that the encoder outputs agree (only the step is
timed on both sides: building each step's input is not). With sherpa-onnx
installed it also streams the same model through sherpa-onnx against sori's
streaming API, audio in and text out (features timed on both sides), and
compares their texts. Before each side's runs the script waits for a quiet
machine; a side during which other processes took over 20 % of the CPUs is
flagged BUSY and the script exits with status 3.

    pip install -r tools/requirements-reference.txt onnxruntime onnx
    python3 bench/bench_stream.py --build build [--threads 2] [--runs 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Guard, add_quiet_args, driver_runs, spread  # noqa: E402


def step_spread(per_run):
    """'median 9.7 ms (runs' medians min 9.5, max 10.1; n=5 runs x 31 steps)' of per-run lists of
    step seconds."""
    allsteps = [t for run in per_run for t in run]
    meds = [statistics.median(run) * 1e3 for run in per_run]
    return (f"median {statistics.median(allsteps) * 1e3:.2f} ms (runs' medians min {min(meds):.2f}, max "
            f"{max(meds):.2f}; n={len(per_run)} runs x {len(per_run[0])} steps)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--d-model", type=int, default=176)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
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
    from omegaconf import open_dict
    with open_dict(m.cfg):  # streaming models use no per-utterance normalization
        m.cfg.preprocessor.normalize = "NA"
    m.preprocessor.featurizer.normalize = None
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
        with guard.region(f"onnxruntime batch {batch}"):
            for r in range(a.runs + 1):
                c0, c1, c2 = enc.get_initial_cache_state(batch_size=batch)
                # the export takes batch-first caches
                cache = [c0.transpose(0, 1).numpy(), c1.transpose(0, 1).numpy(), c2.numpy()]
                outs, run_times = [], []
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
                    if n == chunk:  # full steps only, as sori's driver
                        run_times.append(dt)
                    cache = [o[2], o[3], o[4]]
                    outs.append(o[0][0, :, : int(o[1][0])].T)
                if r:
                    times.append(run_times)
        ort_enc = np.concatenate(outs)
        out_path = os.path.join(tmp, "enc.f32")
        with guard.region(f"sori batch {batch}"):
            res = subprocess.run([os.path.join(a.build, "bin", "bench_stream"), gguf, fpath, str(a.frames),
                                  str(a.runs), str(a.threads), str(batch), out_path], check=True,
                                 capture_output=True, text=True, env=env)
        state = int(res.stdout.split()[2])
        sori_steps = driver_runs(res.stdout, "steps")
        per = len(sori_steps) // a.runs
        sori_t = [sori_steps[i * per:(i + 1) * per] for i in range(a.runs)]
        sori_enc = np.fromfile(out_path, dtype=np.float32).reshape(-1, a.d_model)
        n = min(len(sori_enc), len(ort_enc))
        diff = float(np.abs(sori_enc[:n] - ort_enc[:n]).max()) if n else float("nan")
        results.append((batch, sori_t, times, diff, len(sori_enc), len(ort_enc), state))
    n_params = sum(p.numel() for p in m.encoder.parameters())
    step_ms = chunk * 10
    print(guard.load_line())
    print(f"FastConformer cache-aware encoder d_model {a.d_model}, {a.layers} layers ({n_params / 1e6:.1f} M "
          f"parameters), steps of {step_ms} ms ({pre} + {chunk} frames), {a.threads} threads, onnxruntime "
          f"{ort.__version__}, full steps of {a.runs} runs after a warm-up; the encoder step alone on both sides:")
    for batch, sori_t, ort_t, diff, ns, no, state in results:
        sori_s = statistics.median(t for run in sori_t for t in run)
        ort_s = statistics.median(t for run in ort_t for t in run)
        print(f"  batch {batch:3d}: sori        {step_spread(sori_t)}")
        print(f"             onnxruntime {step_spread(ort_t)}")
        print(f"             ratio (ort / sori) {ort_s / sori_s:5.2f}  streams per core in real time (sori) "
              f"{batch * step_ms / 1e3 / sori_s / a.threads:6.1f}  max |enc diff| {diff:.1e} "
              f"({ns}/{no} frames)  state {state / 1024:.0f} KiB/stream")
    print("  goal: ratio >= 1.5 on streaming steps")
    sherpa(a, m, tmp, gguf, env, scfg, guard)
    sys.exit(guard.report())


def sherpa(a, m, tmp, gguf, env, scfg, guard):
    """sherpa-onnx (PyPI) streaming on the same model: NeMo's cache-support
    export of the whole CTC model with the metadata sherpa-onnx's online NeMo
    CTC loader reads (window, shift, cache shapes), 10 s of audio decoded
    step by step (its own features + encoder + greedy CTC), against sori's
    streaming API on the same audio (bench_asr --stream). The features are
    timed on both sides (sherpa-onnx computes them in accept_waveform)."""
    try:
        import sherpa_onnx
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from peers import add_onnx_metadata, test_audio, write_tokens
    except ImportError:
        print("sherpa-onnx: not installed (pip install sherpa-onnx); skipped")
        return
    path = os.path.join(tmp, "sherpa_online.onnx")
    m.set_export_config({"cache_support": "True", "decoder_type": "ctc"})
    m.export(path)
    chunk, pre = scfg.chunk_size[1], scfg.pre_encode_cache_size[1]
    meta = {"vocab_size": len(m.decoder.vocabulary) + 1, "window_size": chunk + pre, "chunk_shift": chunk,
            "normalize_type": "", "cache_last_channel_dim1": len(m.encoder.layers),
            "cache_last_channel_dim2": scfg.last_channel_cache_size, "cache_last_channel_dim3": m.encoder.d_model,
            "cache_last_time_dim1": len(m.encoder.layers), "cache_last_time_dim2": m.encoder.d_model,
            "cache_last_time_dim3": m.encoder.conv_context_size[0], "subsampling_factor": 8,
            "model_type": "EncDecCTCModel", "version": "1", "model_author": "NeMo"}
    add_onnx_metadata(path, meta)
    tokens = os.path.join(tmp, "tokens.txt")
    write_tokens(tokens, list(m.decoder.vocabulary))
    rec = sherpa_onnx.OnlineRecognizer.from_nemo_ctc(tokens=tokens, model=path, num_threads=a.threads,
                                                     sample_rate=16000, feature_dim=80)
    n = a.frames * 160
    x, xpath = test_audio(n, tmp)
    times = []
    with guard.region("sherpa-onnx streaming"):
        for r in range(a.runs + 1):
            st = rec.create_stream()
            t0 = time.perf_counter()
            st.accept_waveform(16000, x)
            st.input_finished()
            while rec.is_ready(st):
                rec.decode_stream(st)
            if r:
                times.append(time.perf_counter() - t0)
    sh_text = rec.get_result(st).strip()
    with guard.region("sori streaming API"):
        res = subprocess.run([os.path.join(a.build, "bin", "bench_asr"), "--stream", gguf, xpath, str(n),
                              str(a.runs), str(a.threads)], check=True, capture_output=True, text=True, env=env)
    sori_t = driver_runs(res.stdout)
    sori_text = res.stdout.splitlines()[0].partition(" ")[2].strip()
    print(f"sherpa-onnx {sherpa_onnx.__version__} streaming the same model ({m.__class__.__name__} cache-aware "
          f"export), {n / 16000:.0f} s of audio in, text out (features + encoder steps + greedy CTC timed on both "
          f"sides), {a.threads} threads, {a.runs} runs after a warm-up:")
    print(f"  sori        {spread(sori_t)}")
    print(f"  sherpa-onnx {spread(times)}")
    same = "identical" if sori_text == sh_text else f"differ: sori {sori_text[:60]!r}, sherpa-onnx {sh_text[:60]!r}"
    print(f"  ratio (sherpa / sori) {statistics.median(times) / statistics.median(sori_t):5.2f}  texts {same}")


if __name__ == "__main__":
    main()
