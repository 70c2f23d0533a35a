#!/usr/bin/env python3
"""Reference outputs of openai-whisper for sori's Whisper parity tests:

    pip install -r tools/requirements-whisper.txt
    python3 tools/gen_whisper_fixtures.py [--out tests/fixtures/whisper] [--base whisper-base-f16.gguf]
                                          [--samples ../shared/data/speech_samples_ccby]
    python3 tools/gen_whisper_fixtures.py --compare CT2_DIR --base whisper-base-f16.gguf

Writes to --out (README.md there lists every file):
  - mel*.f32: openai-whisper's log_mel_spectrogram (80 and 128 filters) of
    the first 3 s of data/samples/ko_16k_statement.wav;
  - rand80_*, rand128_*: two small Whisper models whose every weight comes
    from the generator of docs/testing.md ("Whisper parity with random
    weights"; the C tests make the same weights), their encoder output,
    last-position logits, greedy and beam-search decodes of a 4 s mel;
  - base_samples.tsv, when the GGUF of Whisper base (tools/whisper_to_gguf.py,
    f16) is given with --base (default whisper-base-f16.gguf in the current
    directory, skipped when absent): transcribe() of the bundled 16 kHz
    samples with word timestamps, on that file's weights upcast to f32 (what
    sori computes with).

--compare CT2_DIR transcribes the bundled samples with faster-whisper on the
CTranslate2 model and with openai-whisper on the GGUF made from it, and
prints both (a check of the converter; writes nothing).

Audio is read as sori reads it: 16-bit PCM as int / 32768 (soundfile; for
these 16 kHz files the same samples as openai-whisper's ffmpeg-based
load_audio). `load_gguf_into_openai` loads any sori.whisper GGUF into an
openai-whisper model.
"""
import argparse
import base64
import gzip
import math
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLE = os.path.join(ROOT, "data/samples/ko_16k_statement.wav")
RAND = {  # name: (n_mels, n_vocab, seed)
    "rand80": (80, 51865, 1),
    "rand128": (128, 51866, 2),
}
RAND_DIMS = dict(n_audio_ctx=200, n_audio_state=384, n_audio_head=6, n_audio_layer=4,
                 n_text_ctx=448, n_text_state=384, n_text_head=6, n_text_layer=4)
SAMPLE_LEN = 64


def die(msg):
    sys.exit(f"gen_whisper_fixtures: {msg}")


def read_audio(path):
    """float32 mono samples at 16 kHz (PCM16 as int / 32768)."""
    import soundfile as sf
    x, sr = sf.read(path, dtype="float32", always_2d=True)
    if sr != 16000 or x.shape[1] != 1:
        die(f"{path}: {sr} Hz, {x.shape[1]} channels; expected 16 kHz mono")
    return np.ascontiguousarray(x[:, 0])


# ---------------------------------------------------------- the generator

def fnv1a64(name):
    h = 0xCBF29CE484222325
    for b in name.encode("utf-8"):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def rand_stream(seed, name, n):
    """n float32 u in [0, 1): splitmix64 on state = seed ^ fnv1a64(name)."""
    state = np.uint64((seed ^ fnv1a64(name)) & 0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        k = np.arange(1, n + 1, dtype=np.uint64)
        z = state + k * np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)


def rand_tensor(seed, name, shape):
    """docs/testing.md: v = (u * 2 - 1) * amp in float32, by the tensor's role."""
    u = rand_stream(seed, name, int(np.prod(shape))).reshape(shape)
    v = u * np.float32(2) - np.float32(1)
    last = name.rsplit(".", 2)
    is_ln = len(last) >= 2 and (last[-2].endswith("_ln") or last[-2] in ("ln", "ln_post"))
    if name.endswith("positional_embedding") or name == "decoder.token_embedding.weight":
        return v * np.float32(0.5)
    if is_ln and name.endswith(".weight"):
        return np.float32(1) + v * np.float32(0.1)
    if name.endswith(".bias"):
        return v * np.float32(0.1)
    if name.endswith(".weight") and len(shape) >= 2:
        fan_in = float(np.prod(shape[1:], dtype=np.float64))
        return v * np.float32(1.0 / math.sqrt(fan_in))
    die(f"no rule of the generator for {name} {shape}")


def rand_model(n_mels, n_vocab, seed):
    import torch
    from whisper.model import ModelDimensions, Whisper
    model = Whisper(ModelDimensions(n_mels=n_mels, n_vocab=n_vocab, **RAND_DIMS))
    sd = model.state_dict()
    new = {k: torch.from_numpy(rand_tensor(seed, k, tuple(t.shape))) for k, t in sd.items()}
    model.load_state_dict(new, strict=True)
    return model.eval()


# ------------------------------------------------------- GGUF -> openai-whisper

def load_gguf_into_openai(path):
    """An openai-whisper Whisper (float32) with a sori.whisper GGUF's weights
    (f16 and Q8_0 upcast to f32) and alignment heads; returns (model, meta)."""
    import gguf
    import torch
    from whisper.model import ModelDimensions, Whisper
    r = gguf.GGUFReader(path)
    meta = {}
    for f in r.fields.values():
        if f.name.startswith("sori.whisper."):
            meta[f.name[len("sori.whisper."):]] = f.contents()
    keys = ("n_mels", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_vocab",
            "n_text_ctx", "n_text_state", "n_text_head", "n_text_layer")
    missing = [k for k in keys if k not in meta]
    if missing:
        die(f"{path}: not a sori.whisper file (no {missing})")
    model = Whisper(ModelDimensions(**{k: int(meta[k]) for k in keys}))
    sd = {}
    for t in r.tensors:
        shape = tuple(int(x) for x in reversed(t.shape))
        a = gguf.quants.dequantize(t.data, t.tensor_type).reshape(shape).astype(np.float32)
        sd[t.name] = torch.from_numpy(a.copy())
    filters = sd.pop("mel_filters")
    model.load_state_dict(sd, strict=True)
    heads = np.array(meta["alignment_heads"], dtype=np.int64).reshape(-1, 2)
    mask = np.zeros((model.dims.n_text_layer, model.dims.n_text_head), dtype=bool)
    mask[heads[:, 0], heads[:, 1]] = True
    model.set_alignment_heads(base64.b85encode(gzip.compress(mask.tobytes())))
    meta["mel_filters"] = filters.numpy()
    return model.eval(), meta


# ------------------------------------------------------------------ fixtures

def write_f32(out, name, a):
    a = np.ascontiguousarray(a, dtype="<f4")
    a.tofile(os.path.join(out, name))
    return f"| `{name}` | {' x '.join(map(str, a.shape))} |"


def mel_fixtures(out, rows):
    import torch
    import whisper
    x = read_audio(SAMPLE)[:48000]
    rows.append(write_f32(out, "mel_input.f32", x))
    for n in (80, 128):
        rows.append(write_f32(out, f"filters{n}.f32", whisper.audio.mel_filters("cpu", n).numpy()))
        mel = whisper.log_mel_spectrogram(torch.from_numpy(x), n_mels=n, padding=16000).numpy()
        rows.append(write_f32(out, f"mel{n}.f32", mel))


class RankerSpy:
    """Records the sum of log-probabilities of the sequence the ranker picks."""
    def __init__(self):
        import whisper.decoding as d
        self.d, self.orig, self.picked = d, d.MaximumLikelihoodRanker.rank, []
        spy = self

        def rank(ranker, tokens, sum_logprobs):
            chosen = spy.orig(ranker, tokens, sum_logprobs)
            spy.picked = [lp[i] for lp, i in zip(sum_logprobs, chosen)]
            return chosen
        d.MaximumLikelihoodRanker.rank = rank

    def close(self):
        self.d.MaximumLikelihoodRanker.rank = self.orig


def rand_fixtures(out, rows):
    import torch
    import whisper
    from whisper.decoding import DecodingOptions, decode
    from whisper.tokenizer import get_tokenizer
    audio = read_audio(SAMPLE)[:64000]
    for name, (n_mels, n_vocab, seed) in RAND.items():
        model = rand_model(n_mels, n_vocab, seed)
        mel = whisper.log_mel_spectrogram(torch.from_numpy(audio), n_mels=n_mels)
        assert mel.shape == (n_mels, 400), mel.shape
        rows.append(write_f32(out, f"{name}_mel.f32", mel.numpy()))
        tok = get_tokenizer(True, num_languages=model.num_languages, language="ko", task="transcribe")
        with torch.no_grad():
            enc = model.encoder(mel[None])
            rows.append(write_f32(out, f"{name}_enc.f32", enc[0].numpy()))
            prefix = list(tok.sot_sequence)
            logits = []
            for p in (prefix + [tok.no_timestamps], prefix):
                logits.append(model.decoder(torch.tensor([p]), enc)[0, -1].numpy())
            rows.append(write_f32(out, f"{name}_logits.f32", np.stack(logits)))
        suppress = sorted(tok.non_speech_tokens)
        with open(os.path.join(out, f"{name}_suppress.txt"), "w") as f:
            f.write(" ".join(map(str, suppress)) + "\n")
        rows.append(f"| `{name}_suppress.txt` | {len(suppress)} ids |")
        sums = []
        for kind, extra in (("greedy", {}), ("beam", dict(beam_size=5, patience=None, length_penalty=None))):
            spy = RankerSpy()
            try:
                res = decode(model, mel, DecodingOptions(language="ko", task="transcribe", fp16=False,
                                                         temperature=0.0, without_timestamps=False,
                                                         sample_len=SAMPLE_LEN, **extra))
            finally:
                spy.close()
            with open(os.path.join(out, f"{name}_{kind}.txt"), "w") as f:
                f.write(" ".join(map(str, res.tokens)) + "\n")
            sums.append(spy.picked[0])
            rows.append(f"| `{name}_{kind}.txt` | {len(res.tokens)} token ids |")
        with open(os.path.join(out, f"{name}_sum_logprob.txt"), "w") as f:
            f.write(" ".join(f"{x:.9g}" for x in sums) + "\n")
        rows.append(f"| `{name}_sum_logprob.txt` | 2 floats: greedy, beam |")
        print(f"{name}: prefix {prefix}, greedy/beam written")


def base_samples(out, base, samples_dir):
    import torch
    import whisper
    model, meta = load_gguf_into_openai(base)
    files = [os.path.join(ROOT, "data/samples", f) for f in ("ko_16k_question.wav", "ko_16k_statement.wav")]
    manifest = os.path.join(samples_dir, "manifest.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            next(f)
            files += [os.path.join(samples_dir, line.split("\t")[1]) for line in f if line.strip()]
    else:
        print(f"gen_whisper_fixtures: no {manifest}; only the data/samples clips", file=sys.stderr)
    lines = ["file\ttokens\ttext\twords"]
    for p in files:
        with torch.no_grad():
            res = whisper.transcribe(model, read_audio(p), language="ko", fp16=False, temperature=0.0,
                                     condition_on_previous_text=True, word_timestamps=True, verbose=None)
        toks = "|".join(" ".join(map(str, s["tokens"])) for s in res["segments"])
        words = []
        for s in res["segments"]:
            for w in s.get("words", []):
                if any(c in w["word"] for c in ":;\t\n"):
                    die(f"{p}: the word {w['word']!r} holds a separator")
                words.append(f"{w['word']}:{w['start']:.2f}:{w['end']:.2f}")
        text = res["text"].replace("\t", " ").replace("\n", " ")
        rel = os.path.relpath(p, ROOT)
        lines.append(f"{rel}\t{toks}\t{text}\t{';'.join(words)}")
        print(f"{rel}: {text}")
    with open(os.path.join(out, "base_samples.tsv"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    return len(files)


def compare(ct2_dir, base, samples_dir):
    import torch
    import whisper
    from faster_whisper import WhisperModel
    fw = WhisperModel(ct2_dir, device="cpu", compute_type="float32", cpu_threads=2)
    model, _ = load_gguf_into_openai(base)
    files = [os.path.join(ROOT, "data/samples/ko_16k_question.wav"), os.path.join(ROOT, "data/samples/ko_16k_statement.wav")]
    manifest = os.path.join(samples_dir, "manifest.tsv")
    if os.path.exists(manifest):
        with open(manifest, encoding="utf-8") as f:
            next(f)
            files += [os.path.join(samples_dir, line.split("\t")[1]) for line in f if line.strip()]
    same = 0
    for p in files:
        x = read_audio(p)
        segs, _ = fw.transcribe(x, language="ko", temperature=0.0, beam_size=1, without_timestamps=False,
                                condition_on_previous_text=True, vad_filter=False)
        a = "".join(s.text for s in segs).strip()
        with torch.no_grad():
            b = whisper.transcribe(model, x, language="ko", fp16=False, temperature=0.0, verbose=None)["text"].strip()
        same += a == b
        print(f"{os.path.basename(p)}\n  faster-whisper: {a}\n  openai-whisper: {b}{'' if a == b else '   (differs)'}")
    print(f"{same}/{len(files)} identical")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(ROOT, "tests/fixtures/whisper"))
    ap.add_argument("--base", default="whisper-base-f16.gguf", help="Whisper base as f16 GGUF (skipped if absent)")
    ap.add_argument("--samples", default=os.path.join(os.path.dirname(ROOT), "shared/data/speech_samples_ccby"),
                    help="a folder with manifest.tsv (id, path, ...) of 16 kHz clips")
    ap.add_argument("--compare", metavar="CT2_DIR", help="only compare faster-whisper with the GGUF")
    a = ap.parse_args()
    import torch
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    if a.compare:
        if not os.path.exists(a.base):
            die(f"--compare needs --base (no {a.base})")
        compare(a.compare, a.base, a.samples)
        return
    os.makedirs(a.out, exist_ok=True)
    rows = []
    mel_fixtures(a.out, rows)
    rand_fixtures(a.out, rows)
    n_base = base_samples(a.out, a.base, a.samples) if os.path.exists(a.base) else 0
    if not n_base:
        print(f"gen_whisper_fixtures: no {a.base}; base_samples.tsv not written", file=sys.stderr)
    from importlib.metadata import PackageNotFoundError, version
    versions = {}
    for m in ("openai-whisper", "torch", "numpy", "gguf", "tiktoken", "ctranslate2", "faster-whisper"):
        try:
            versions[m] = version(m)
        except PackageNotFoundError:
            pass
    write_readme(a.out, rows, n_base, versions)
    total = sum(os.path.getsize(os.path.join(a.out, f)) for f in os.listdir(a.out))
    print(f"{a.out}: {len(os.listdir(a.out))} files, {total / 1e6:.2f} MB")


def write_readme(out, rows, n_base, versions):
    v = ", ".join(f"{k} {x}" for k, x in versions.items())
    text = f"""# Whisper parity fixtures

Made by `tools/gen_whisper_fixtures.py` with {v}
(pinned in `tools/requirements-whisper.txt`):

```sh
python3 tools/whisper_to_gguf.py CT2_WHISPER_BASE_DIR whisper-base-f16.gguf
python3 tools/gen_whisper_fixtures.py --base whisper-base-f16.gguf
```

All `.f32` files are little-endian float32, row-major, shapes outermost first.

| file | shape / content |
|---|---|
{chr(10).join(rows)}

- `mel_input.f32`: the first 3.0 s of `data/samples/ko_16k_statement.wav`, PCM16 read as int / 32768
  (soundfile; for this 16 kHz file the same as openai-whisper's ffmpeg `load_audio`).
  `melN.f32` = `log_mel_spectrogram(audio, n_mels=N, padding=16000)` of it: [N, 400].
  `filtersN.f32`: openai-whisper's `mel_filters.npz` (librosa's Slaney filters), [N, 201].
- `randNN_*`: openai-whisper models with n_audio_ctx 200, n_audio_state 384, n_audio_head 6,
  n_audio_layer 4, n_text_ctx 448, n_text_state 384, n_text_head 6, n_text_layer 4; rand80: n_mels 80,
  n_vocab 51865, seed 1; rand128: n_mels 128, n_vocab 51866, seed 2. Every state-dict tensor (the
  encoder's positional_embedding buffer included) comes from the generator of docs/testing.md.
  - `randNN_mel.f32`: `log_mel_spectrogram` (padding 0) of the first 4.0 s (64000 samples) of the same
    file: [n_mels, 400], the model's input.
  - `randNN_enc.f32`: encoder output [200, 384].
  - `randNN_logits.f32`: the decoder's logits at the last position, [2, n_vocab]: row 0 for
    [sot, <|ko|>, <|transcribe|>, <|notimestamps|>], row 1 for [sot, <|ko|>, <|transcribe|>].
  - `randNN_greedy.txt`, `randNN_beam.txt`: the sampled tokens (prompt and <|endoftext|>
    excluded) of `decode(model, mel, DecodingOptions(language="ko", fp16=False, temperature=0,
    without_timestamps=False, sample_len={SAMPLE_LEN}))`, default suppression (suppress_tokens "-1",
    suppress_blank), beam: beam_size 5, patience and length_penalty None. `randNN_sum_logprob.txt`:
    the sums of log-probabilities of the chosen greedy and beam sequences (as openai-whisper's ranker
    saw them). openai-whisper's max_initial_timestamp index is round(1.0 / (30 / n_audio_ctx)): 7 here
    (50 for 1500 frames).
  - `randNN_suppress.txt`: openai-whisper's `non_speech_tokens` for that vocabulary.
"""
    if n_base:
        text += f"""- `base_samples.tsv`: {n_base} clips (the 16 kHz ones of data/samples and, by path relative to the
  repository, `../shared/data/speech_samples_ccby`), `transcribe(model, audio, language="ko", fp16=False,
  temperature=0, condition_on_previous_text=True, word_timestamps=True)` with Whisper base from the f16 GGUF,
  upcast to f32. Columns: file; each segment's tokens (timestamp tokens included) space-separated,
  segments joined by `|`; the text; the words as `word:start:end` joined by `;` (the word keeps its
  leading space).
"""
    with open(os.path.join(out, "README.md"), "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
