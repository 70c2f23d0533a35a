#!/usr/bin/env python3
"""Offline Conformer speed: sori vs onnxruntime on the same model and input.

Builds a NeMo Conformer-CTC of the "small" size (d_model 176, 16 layers,
4 heads, kernel 31, striding x4, 80 mels) with random weights, exports it to
ONNX with NeMo's own exporter and converts it to GGUF with
tools/nemo_to_gguf.py; then times the encoder + CTC head on 10 s of features
(1000 frames, batch 1) in onnxruntime and in sori (build/bin/bench_asr), with
the same thread count, in one run, median and spread of several runs (taken
in alternating blocks: the peer, sori, the peer ...), and
checks that both give the same log-probs. With sherpa-onnx installed it also
times sherpa-onnx's offline recognizer on the same model against sori's
whole API, audio in and text out (features timed on both sides), and compares
their texts. Before each side's runs the script waits for a quiet machine; a
side during which other processes took over 20 % of the CPUs is flagged BUSY
and the script exits with status 3.

    pip install -r tools/requirements-reference.txt onnxruntime onnx
    python3 bench/bench_asr.py --build build [--threads 2] [--runs 7] [--blocks 3]
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=7, help="timed runs per block and side (default 7)")
    ap.add_argument("--blocks", type=int, default=3,
                    help="alternating blocks of each side's runs (default 3): the peer, sori, the peer ...")
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--d-model", type=int, default=176)
    ap.add_argument("--layers", type=int, default=16)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
    import torch
    import onnxruntime as ort
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
    from gen_conformer_fixtures import ctc_model, randomize

    torch.set_num_threads(a.threads)
    tmp = tempfile.mkdtemp()
    m = ctc_model(dict(d_model=a.d_model, n_layers=a.layers, n_heads=4, conv_kernel_size=31,
                       subsampling_conv_channels=a.d_model))
    randomize(m, 7)
    m.eval()
    nemo = os.path.join(tmp, "m.nemo")
    m.save_to(nemo)
    gguf = os.path.join(tmp, "m.gguf")
    subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools",
                    "nemo_to_gguf.py"), nemo, gguf], check=True, capture_output=True)
    onnx = os.path.join(tmp, "m.onnx")
    m.export(onnx)
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
    results = []
    for batch in a.batch:
        feed = {names[0]: np.repeat(feats.T[None], batch, axis=0).copy(),
                names[1]: np.full([batch], a.frames, dtype=np.int64)}
        times, sori_t = [], []
        lp_path = os.path.join(tmp, "lp.f32")
        for blk in range(a.blocks):  # alternating, so a slow spell of the machine hits both sides
            with guard.region(f"onnxruntime batch {batch}, block {blk + 1}"):
                for r in range(a.runs + 1):
                    t0 = time.perf_counter()
                    out = sess.run(None, feed)
                    if r:
                        times.append(time.perf_counter() - t0)
            with guard.region(f"sori batch {batch}, block {blk + 1}"):
                res = subprocess.run([os.path.join(a.build, "bin", "bench_asr"), gguf, fpath, str(a.frames),
                                      str(a.runs), str(a.threads), lp_path, str(batch)], check=True,
                                     capture_output=True, text=True, env=env)
            sori_t += driver_runs(res.stdout)
        ort_lp = out[0][0]
        T = int(res.stdout.split()[1])
        sori_lp = np.fromfile(lp_path, dtype=np.float32).reshape(T, -1)  # the first item
        diff = float(np.abs(sori_lp - ort_lp[:T]).max())
        results.append((batch, sori_t, times, diff))
    n_params = sum(p.numel() for p in m.encoder.parameters()) + sum(p.numel() for p in m.decoder.parameters())
    print(guard.load_line())
    print(f"Conformer-CTC d_model {a.d_model}, {a.layers} layers ({n_params / 1e6:.1f} M parameters), "
          f"{a.frames} frames (10 ms) per utterance, {a.threads} threads, onnxruntime {ort.__version__}, "
          f"{a.blocks} alternating blocks of {a.runs} runs after a warm-up each; encoder + CTC head on the same features on both sides (no features "
          "timed):")
    for batch, sori_t, ort_t, diff in results:
        print(f"  batch {batch:3d}: sori        {spread(sori_t)}")
        print(f"             onnxruntime {spread(ort_t)}")
        print(f"             ratio (ort / sori) {statistics.median(ort_t) / statistics.median(sori_t):5.2f}  "
              f"max |log-prob diff| {diff:.1e}")
    print("  goal: ratio >= 1.1 offline")
    sherpa(a, m, tmp, gguf, env, guard)
    sys.exit(guard.report())


def sherpa(a, m, tmp, gguf, env, guard):
    """sherpa-onnx (PyPI) on the same model: NeMo's ONNX export with the
    metadata sherpa-onnx's NeMo CTC loader reads, audio in, text out
    (sherpa computes its own NeMo-style features), against the whole of
    sori_asr_transcribe on the same 10 s of audio. The features are timed on
    both sides: sherpa-onnx's offline stream computes them in
    accept_waveform, which is inside its timed part."""
    try:
        import sherpa_onnx
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from peers import add_onnx_metadata, test_audio, write_tokens
    except ImportError:
        print("sherpa-onnx: not installed (pip install sherpa-onnx); skipped")
        return
    path = os.path.join(tmp, "sherpa.onnx")
    m.export(path)
    vocab = list(m.decoder.vocabulary)
    meta = {"vocab_size": len(vocab) + 1, "normalize_type": m.cfg.preprocessor.normalize,
            "subsampling_factor": m.cfg.encoder.subsampling_factor, "model_type": "EncDecCTCModel",
            "version": "1", "model_author": "NeMo"}
    add_onnx_metadata(path, meta)
    tokens = os.path.join(tmp, "tokens.txt")
    write_tokens(tokens, vocab)
    rec = sherpa_onnx.OfflineRecognizer.from_nemo_ctc(model=path, tokens=tokens, num_threads=a.threads,
                                                       sample_rate=16000, feature_dim=80,
                                                       decoding_method="greedy_search")
    n = a.frames * 160
    x, xpath = test_audio(n, tmp)
    print(f"sherpa-onnx {sherpa_onnx.__version__} on the same model, {n / 16000:.0f} s of audio in, text out "
          f"(features + encoder + greedy CTC timed on both sides), {a.threads} threads, {a.blocks} alternating "
          f"blocks of {a.runs} runs after a warm-up each; a batch is that many copies in one decode_streams / sori_asr_transcribe_batch call:")
    for batch in a.batch:
        times, feats, sori_t = [], [], []
        for blk in range(a.blocks):  # alternating, as above
            with guard.region(f"sherpa-onnx offline batch {batch}, block {blk + 1}"):
                for r in range(a.runs + 1):
                    sts = [rec.create_stream() for _ in range(batch)]
                    t0 = time.perf_counter()
                    for st in sts:
                        st.accept_waveform(16000, x)  # computes the features
                    t1 = time.perf_counter()
                    rec.decode_streams(sts)
                    if r:
                        times.append(time.perf_counter() - t0)
                        feats.append(t1 - t0)
            with guard.region(f"sori offline API batch {batch}, block {blk + 1}"):
                res = subprocess.run([os.path.join(a.build, "bin", "bench_asr"), "--audio", gguf, xpath, str(n),
                                      str(a.runs), str(a.threads), str(batch)], check=True, capture_output=True,
                                     text=True, env=env)
            sori_t += driver_runs(res.stdout)
        sh_text = sts[0].result.text
        with guard.region(f"sori offline API batch {batch}"):
            res = subprocess.run([os.path.join(a.build, "bin", "bench_asr"), "--audio", gguf, xpath, str(n),
                                  str(a.runs), str(a.threads), str(batch)], check=True, capture_output=True,
                                 text=True, env=env)
        sori_text = res.stdout.splitlines()[0].partition(" ")[2].strip()
        print(f"  batch {batch:3d}: sori        {spread(sori_t)}")
        print(f"             sherpa-onnx {spread(times)}  (of which accept_waveform, its features: "
              f"{spread(feats)})")
        sh_text = sh_text.strip()
        same = "identical" if sori_text == sh_text else f"differ: sori {sori_text[:60]!r}, sherpa-onnx {sh_text[:60]!r}"
        print(f"             ratio (sherpa / sori) {statistics.median(times) / statistics.median(sori_t):5.2f}  "
              f"texts {same}")


if __name__ == "__main__":
    main()
