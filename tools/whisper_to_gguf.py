#!/usr/bin/env python3
"""Whisper (OpenAI's encoder-decoder ASR model) to a sori GGUF file
(`sori.whisper`, docs/model-format.md), from any of three sources:

    python3 tools/whisper_to_gguf.py SRC OUT.gguf [--type f16|f32|q8_0] [--name NAME]
                                     [--alignment-heads HEADS] [--tiktoken FILE]

SRC is one of
  - an OpenAI checkpoint `NAME.pt` (openai-whisper's download: `dims` and
    `model_state_dict`; needs torch). Its vocabulary is openai-whisper's
    tiktoken file (from the installed openai-whisper, or --tiktoken FILE), its
    alignment heads openai-whisper's table entry for NAME (the file's stem,
    e.g. `base`, `large-v3`) when openai-whisper is installed;
  - a Hugging Face transformers directory: config.json, model.safetensors
    (or its shards with model.safetensors.index.json, or pytorch_model.bin,
    which needs torch), tokenizer.json (or vocab.json + added_tokens.json),
    and generation_config.json's alignment_heads when present;
  - a CTranslate2 directory (faster-whisper's format): model.bin (or its
    pieces model.bin.part1, model.bin.part2, ... joined in order),
    config.json, vocabulary.txt (or vocabulary.json, tokenizer.json). f32,
    f16 and bf16 weights are read as they are; int8 and int16 weights (the
    `int8*` / `int16` quantizations) are dequantized with their scales, which
    keeps their rounding error.

Every source is mapped to OpenAI's state-dict names and checked tensor for
tensor against the shapes its hyper-parameters imply; anything missing,
extra or of another shape is refused by name (e.g. an untied output
projection, a key bias that is not zero, another activation).

--type: f16 (default) stores matrices and convolutions as f16; f32 keeps
everything f32; q8_0 stores matrices whose rows are a multiple of 32 as
GGUF's Q8_0 blocks and the convolutions as f16. Vectors, both positional
embeddings and mel_filters are always f32.

--alignment-heads overrides the source's (or the default: every head of the
last half of the decoder layers): either pairs "LAYER,HEAD;LAYER,HEAD;..."
or openai-whisper's base85 + gzip mask string.

The suppress list is openai-whisper's `non_speech_tokens`, computed from the
vocabulary with tiktoken (the model's own BPE); without tiktoken it falls
back on the source's own list (CTranslate2's suppress_ids,
generation_config's suppress_tokens) less the special tokens.

Requires tools/requirements-gguf.txt (gguf, numpy); torch for .pt and
pytorch_model.bin; tiktoken for the suppress list (tools/requirements-whisper.txt).
"""
import argparse
import base64
import gzip
import hashlib
import json
import os
import re
import struct
import sys

import numpy as np

# openai-whisper's language codes, in the order of their tokens after <|startoftranscript|>
LANGUAGES = (
    "en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no "
    "th ur hr bg lt la mi ml cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw "
    "gl mr pa si km sn yo so af oc ka be tg sd gu am yi lo uz fo ht ps tk nn mt sa lb my bo tl "
    "mg as tt haw ln ha ba jw su yue").split()
assert len(LANGUAGES) == 100

SPECIALS = {  # GGUF key -> the token's text(s)
    "token_eot": ("<|endoftext|>",),
    "token_sot": ("<|startoftranscript|>",),
    "token_translate": ("<|translate|>",),
    "token_transcribe": ("<|transcribe|>",),
    "token_sot_lm": ("<|startoflm|>",),
    "token_sot_prev": ("<|startofprev|>",),
    "token_no_speech": ("<|nospeech|>", "<|nocaptions|>"),  # openai-whisper's / Hugging Face's name
    "token_no_timestamps": ("<|notimestamps|>",),
    "token_timestamp_begin": ("<|0.00|>",),
}
# openai-whisper's BPE pre-split pattern (tiktoken)
PAT = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""


def die(msg):
    sys.exit(f"whisper_to_gguf: {msg}")


# ---------------------------------------------------------------- vocabulary

def byte_to_unicode():
    """GPT-2's reversible map from bytes to printable characters."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def bytes_to_text(b, table=byte_to_unicode()):
    return "".join(table[x] for x in b)


def text_to_bytes(s, inverse={v: k for k, v in byte_to_unicode().items()}):
    return bytes(inverse[c] for c in s)


def special_texts(n_languages):
    return (["<|endoftext|>", "<|startoftranscript|>"] + [f"<|{c}|>" for c in LANGUAGES[:n_languages]]
            + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>",
               "<|notimestamps|>"] + [f"<|{i * 0.02:.2f}|>" for i in range(1501)])


def tiktoken_vocab(path, n_vocab):
    """openai-whisper's vocabulary: the tiktoken ranks, then its special tokens."""
    ranks = {}
    with open(path) as f:
        for line in f:
            if line.strip():
                tok, rank = line.split()
                ranks[int(rank)] = base64.b64decode(tok)
    if sorted(ranks) != list(range(len(ranks))):
        die(f"{path}: ranks are not 0..{len(ranks) - 1}")
    n_lang = n_vocab - len(ranks) - 8 - 1501
    if not 0 <= n_lang <= len(LANGUAGES):
        die(f"{path}: {len(ranks)} ranks do not fit n_vocab {n_vocab} (wrong tiktoken file?)")
    return [bytes_to_text(ranks[i]) for i in range(len(ranks))] + special_texts(n_lang)


def complete_timestamps(tokens, n_vocab, where):
    """Hugging Face tokenizers of the first Whisper releases stop at <|notimestamps|>;
    the timestamp tokens follow it (as CTranslate2's converter adds them)."""
    if len(tokens) < n_vocab and tokens and tokens[-1] == "<|notimestamps|>":
        tokens = tokens + [f"<|{i * 0.02:.2f}|>" for i in range(n_vocab - len(tokens))]
    if len(tokens) != n_vocab:
        die(f"{where}: {len(tokens)} tokens, the model has {n_vocab}")
    return tokens


def vocab_from_tokenizer_json(path):
    with open(path, encoding="utf-8") as f:
        tj = json.load(f)
    model = tj.get("model", {})
    if model.get("type") != "BPE" or not isinstance(model.get("vocab"), dict):
        die(f"{path}: not a byte-level BPE tokenizer")
    ids = {i: t for t, i in model["vocab"].items()}
    for a in tj.get("added_tokens", []):
        ids[a["id"]] = a["content"]
    return ids_to_list(ids, path)


def ids_to_list(ids, where):
    n = max(ids) + 1
    missing = [i for i in range(n) if i not in ids]
    if missing:
        die(f"{where}: token ids {missing[:5]} ... are missing")
    return [ids[i] for i in range(n)]


def specials_from_vocab(tokens, where):
    index = {}
    for i, t in enumerate(tokens):
        index.setdefault(t, i)
    ids = {}
    for key, texts in SPECIALS.items():
        found = [index[t] for t in texts if t in index]
        if not found:
            die(f"{where}: the vocabulary has no {' or '.join(texts)}; not a Whisper vocabulary")
        ids[key] = found[0]
    sot, tr = ids["token_sot"], ids["token_translate"]
    langs = [tokens[i][2:-2] for i in range(sot + 1, tr)]
    if not langs:
        die(f"{where}: no language tokens (English-only models are not supported: "
            "sori.whisper.languages cannot be empty)")
    if langs != LANGUAGES[:len(langs)]:
        die(f"{where}: the language tokens {langs[:6]}... are not openai-whisper's, in its order")
    if ids["token_eot"] + 1 != sot or any(ids[b] != ids[a] + 1 for a, b in zip(
            ["token_translate", "token_transcribe", "token_sot_lm", "token_sot_prev", "token_no_speech",
             "token_no_timestamps"],
            ["token_transcribe", "token_sot_lm", "token_sot_prev", "token_no_speech", "token_no_timestamps",
             "token_timestamp_begin"])) or ids["token_translate"] != sot + 1 + len(langs):
        die(f"{where}: the special tokens are not in openai-whisper's order (<|endoftext|>, "
            "<|startoftranscript|>, languages, <|translate|>, ..., <|notimestamps|>, <|0.00|>)")
    n_ts = len(tokens) - ids["token_timestamp_begin"]
    if n_ts != 1501 or tokens[-1] != "<|30.00|>":
        die(f"{where}: expected 1501 timestamp tokens <|0.00|>..<|30.00|> at the end, found {n_ts}")
    return ids, langs


def non_speech_tokens(tokens, eot):
    """openai-whisper's Tokenizer.non_speech_tokens, on this vocabulary's BPE
    (tiktoken ranks = token ids below <|endoftext|>)."""
    import tiktoken
    ranks = {text_to_bytes(t): i for i, t in enumerate(tokens[:eot])}
    if len(ranks) != eot:
        die(f"the vocabulary below <|endoftext|> has {eot - len(ranks)} duplicate tokens; not a BPE vocabulary")
    enc = tiktoken.Encoding(name="sori-whisper", pat_str=PAT, mergeable_ranks=ranks, special_tokens={})
    symbols = list('"#()*+/:;<=>@[\\]^_`{|}~「」『』')
    symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
    misc = set("♩♪♫♬♭♮♯")
    result = {enc.encode(" -")[0], enc.encode(" '")[0]}
    for s in symbols + list(misc):
        for toks in (enc.encode(s), enc.encode(" " + s)):
            if len(toks) == 1 or s in misc:
                result.add(toks[0])
    return sorted(result)


# ------------------------------------------------------------------- weights

def openai_shapes(d):
    """OpenAI state-dict name -> shape, for hyper-parameters d."""
    a, t = d["n_audio_state"], d["n_text_state"]
    s = {"encoder.conv1.weight": (a, d["n_mels"], 3), "encoder.conv1.bias": (a,),
         "encoder.conv2.weight": (a, a, 3), "encoder.conv2.bias": (a,),
         "encoder.positional_embedding": (d["n_audio_ctx"], a),
         "encoder.ln_post.weight": (a,), "encoder.ln_post.bias": (a,),
         "decoder.token_embedding.weight": (d["n_vocab"], t),
         "decoder.positional_embedding": (d["n_text_ctx"], t),
         "decoder.ln.weight": (t,), "decoder.ln.bias": (t,)}

    def attn(p, n):
        for m in ("query", "key", "value", "out"):
            s[f"{p}.{m}.weight"] = (n, n)
            if m != "key":
                s[f"{p}.{m}.bias"] = (n,)

    def block(p, n, cross):
        attn(p + ".attn", n)
        names = ["attn_ln", "mlp_ln"] + (["cross_attn_ln"] if cross else [])
        for ln in names:
            s[f"{p}.{ln}.weight"] = s[f"{p}.{ln}.bias"] = (n,)
        if cross:
            attn(p + ".cross_attn", n)
        s[f"{p}.mlp.0.weight"], s[f"{p}.mlp.0.bias"] = (4 * n, n), (4 * n,)
        s[f"{p}.mlp.2.weight"], s[f"{p}.mlp.2.bias"] = (n, 4 * n), (n,)

    for i in range(d["n_audio_layer"]):
        block(f"encoder.blocks.{i}", a, False)
    for i in range(d["n_text_layer"]):
        block(f"decoder.blocks.{i}", t, True)
    return s


def check_state(state, dims, where):
    want = openai_shapes(dims)
    missing = [k for k in want if k not in state]
    extra = [k for k in state if k not in want]
    if missing or extra:
        die(f"{where}: not the Whisper architecture sori runs: missing {missing[:6]}, unexpected {extra[:6]}")
    for k, shape in want.items():
        if tuple(state[k].shape) != shape:
            die(f"{where}: {k} has shape {tuple(state[k].shape)}, expected {shape}")
        if not np.all(np.isfinite(state[k])):
            die(f"{where}: {k} has non-finite values")


def f32(a):
    a = np.asarray(a)
    if a.dtype == np.uint16:  # bf16 bits
        return (a.astype(np.uint32) << 16).view(np.float32)
    return a.astype(np.float32)


def split_fused(w, b, n, parts, where, name):
    """CTranslate2's fused projections: rows [q; k; v] (or [k; v]); the key
    has no bias in Whisper, CTranslate2 stores zeros there."""
    if w.shape[0] != n * len(parts):
        die(f"{where}: {name} has {w.shape[0]} rows, expected {n * len(parts)}")
    out = {}
    for j, p in enumerate(parts):
        out[p + ".weight"] = w[j * n:(j + 1) * n]
        bias = b[j * n:(j + 1) * n]
        if p == "key":
            if np.any(bias != 0):
                die(f"{where}: {name}'s key bias is not zero (Whisper's key has no bias)")
        else:
            out[p + ".bias"] = bias
    return out


# ----------------------------------------------------------------- CTranslate2

CT2_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: np.uint16}


def ct2_read(src):
    paths = [os.path.join(src, "model.bin")]
    if not os.path.exists(paths[0]):
        paths, k = [], 1
        while os.path.exists(os.path.join(src, f"model.bin.part{k}")):
            paths.append(os.path.join(src, f"model.bin.part{k}"))
            k += 1
        if not paths:
            die(f"{src}: no model.bin (nor model.bin.part1, ...)")
    data = b"".join(open(p, "rb").read() for p in paths)
    pos = 0

    def take(fmt):
        nonlocal pos
        if pos + struct.calcsize(fmt) > len(data):
            die(f"{src}: model.bin is truncated at byte {pos}")
        v = struct.unpack_from(fmt, data, pos)
        pos += struct.calcsize(fmt)
        return v[0] if len(v) == 1 else v

    def string():
        nonlocal pos
        n = take("<H")
        s = data[pos:pos + n - 1].decode("utf-8")
        pos += n
        return s

    version = take("<I")
    if version != 6:
        die(f"{src}: CTranslate2 binary version {version}; this converter reads version 6")
    spec, revision = string(), take("<I")
    if spec != "WhisperSpec":
        die(f"{src}: a CTranslate2 {spec}, not a WhisperSpec")
    variables = {}
    for _ in range(take("<I")):
        name = string()
        shape = [take("<I") for _ in range(take("<B"))]
        dtype_id, nbytes = take("<B"), take("<I")
        if dtype_id not in CT2_DTYPES:
            die(f"{src}: {name} has unknown CTranslate2 type {dtype_id}")
        if pos + nbytes > len(data):
            die(f"{src}: model.bin is truncated in {name} (a missing model.bin.partN?)")
        a = np.frombuffer(data, CT2_DTYPES[dtype_id], count=nbytes // np.dtype(CT2_DTYPES[dtype_id]).itemsize,
                          offset=pos)
        if a.size != int(np.prod(shape)):
            die(f"{src}: {name}: {a.size} values for shape {shape}")
        variables[name] = a.reshape(shape)
        pos += nbytes
    aliases = {}
    for _ in range(take("<I")):
        alias = string()
        aliases[alias] = string()
    if pos != len(data):
        die(f"{src}: {len(data) - pos} bytes after the variables (wrong parts or order?)")
    digest = hashlib.sha256(data).hexdigest()
    return variables, aliases, revision, digest


def from_ct2(src):
    v, aliases, revision, digest = ct2_read(src)
    where = f"{src} (CTranslate2)"
    # the spec's flags: these must hold; any other flag must be off (0)
    scalars = {"decoder/activation": 3, "decoder/pre_norm": 1}  # GELU (erf), pre-LN
    informational = {"encoder/num_heads", "decoder/num_heads", "decoder/alignment_heads", "decoder/alignment_layer"}
    for k, x in v.items():
        if x.ndim == 0 and k not in informational:
            want = scalars.get(k, 0)
            if float(x) != want:
                die(f"{where}: {k} = {x.item()}, Whisper has {want}")
    for k in v:
        if k.endswith("weight_zero") or "/q_norm" in k or "/rotary" in k or k.endswith("queries_scale"):
            die(f"{where}: {k}: a variant this converter does not know")
    proj = aliases.get("decoder/projection/weight")
    if proj != "decoder/embeddings/weight":
        if "decoder/projection/weight" not in v or not np.array_equal(v["decoder/projection/weight"],
                                                                      v["decoder/embeddings/weight"]):
            die(f"{where}: the output projection is not the token embedding (untied); not supported")
    quantized = set()

    def get(name):
        if name in aliases:
            name = aliases[name]
        if name not in v:
            die(f"{where}: variable {name} is missing")
        a = v[name]
        if a.dtype in (np.int8, np.int16):
            scale = v.get(name + "_scale")
            if scale is None:
                die(f"{where}: {name} is {a.dtype} without {name}_scale")
            quantized.add(str(a.dtype))
            s = f32(scale)
            # CTranslate2: q = round(w * scale), per output row (int8) or one scalar (int16)
            return f32(a) / (s.reshape((-1,) + (1,) * (a.ndim - 1)) if s.ndim else s)
        return f32(a)

    def n_layers(prefix):
        return len({m.group(1) for k in v for m in [re.match(prefix + r"/layer_(\d+)/", k)] if m})

    emb = get("decoder/embeddings/weight")
    conv1 = get("encoder/conv1/weight")
    dims = dict(n_mels=conv1.shape[1], n_audio_ctx=v["encoder/position_encodings/encodings"].shape[0],
                n_audio_state=conv1.shape[0], n_audio_head=int(v["encoder/num_heads"]),
                n_audio_layer=n_layers("encoder"), n_vocab=emb.shape[0],
                n_text_ctx=v["decoder/position_encodings/encodings"].shape[0], n_text_state=emb.shape[1],
                n_text_head=int(v["decoder/num_heads"]), n_text_layer=n_layers("decoder"))
    a, t = dims["n_audio_state"], dims["n_text_state"]
    st = {"encoder.conv1.weight": conv1, "encoder.conv1.bias": get("encoder/conv1/bias"),
          "encoder.conv2.weight": get("encoder/conv2/weight"), "encoder.conv2.bias": get("encoder/conv2/bias"),
          "encoder.positional_embedding": get("encoder/position_encodings/encodings"),
          "encoder.ln_post.weight": get("encoder/layer_norm/gamma"),
          "encoder.ln_post.bias": get("encoder/layer_norm/beta"),
          "decoder.token_embedding.weight": emb,
          "decoder.positional_embedding": get("decoder/position_encodings/encodings"),
          "decoder.ln.weight": get("decoder/layer_norm/gamma"), "decoder.ln.bias": get("decoder/layer_norm/beta")}
    used = {"decoder/projection/weight"}

    def ln(dst, src_):
        st[dst + ".weight"], st[dst + ".bias"] = get(src_ + "/gamma"), get(src_ + "/beta")

    def lin(dst, src_):
        st[dst + ".weight"], st[dst + ".bias"] = get(src_ + "/weight"), get(src_ + "/bias")

    for side, n, nl in (("encoder", a, dims["n_audio_layer"]), ("decoder", t, dims["n_text_layer"])):
        for i in range(nl):
            c, o = f"{side}/layer_{i}", f"{side}.blocks.{i}"
            ln(o + ".attn_ln", c + "/self_attention/layer_norm")
            fused = split_fused(get(c + "/self_attention/linear_0/weight"),
                                get(c + "/self_attention/linear_0/bias"), n, ["query", "key", "value"],
                                where, c + "/self_attention/linear_0")
            st.update({f"{o}.attn.{k}": x for k, x in fused.items()})
            lin(o + ".attn.out", c + "/self_attention/linear_1")
            if side == "decoder":
                ln(o + ".cross_attn_ln", c + "/attention/layer_norm")
                lin(o + ".cross_attn.query", c + "/attention/linear_0")
                fused = split_fused(get(c + "/attention/linear_1/weight"), get(c + "/attention/linear_1/bias"),
                                    n, ["key", "value"], where, c + "/attention/linear_1")
                st.update({f"{o}.cross_attn.{k}": x for k, x in fused.items()})
                lin(o + ".cross_attn.out", c + "/attention/linear_2")
            ln(o + ".mlp_ln", c + "/ffn/layer_norm")
            lin(o + ".mlp.0", c + "/ffn/linear_0")
            lin(o + ".mlp.2", c + "/ffn/linear_1")

    # every tensor of the file must have been taken
    mapped = _ct2_sources(dims) | used
    mapped |= {k + "_scale" for k in mapped}
    extra = [k for k in v if v[k].ndim > 0 and k not in mapped]
    if extra:
        die(f"{where}: variables this converter does not know: {extra[:6]}")

    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    tokens = None
    for fn in ("vocabulary.txt", "vocabulary.json", "tokenizer.json"):
        p = os.path.join(src, fn)
        if not os.path.exists(p):
            continue
        if fn == "vocabulary.txt":
            with open(p, encoding="utf-8") as f:
                tokens = f.read().split("\n")
            if tokens and tokens[-1] == "":
                tokens.pop()
        elif fn == "vocabulary.json":
            with open(p, encoding="utf-8") as f:
                tokens = json.load(f)
        else:
            tokens = vocab_from_tokenizer_json(p)
        tokens = complete_timestamps(tokens, dims["n_vocab"], p)
        break
    if tokens is None:
        die(f"{src}: no vocabulary.txt, vocabulary.json or tokenizer.json")
    note = f"revision {revision}" + (f", dequantized from {'/'.join(sorted(quantized))}" if quantized else "")
    return dict(dims=dims, state=st, tokens=tokens, alignment_heads=cfg.get("alignment_heads"),
                source_suppress=cfg.get("suppress_ids"), kind="ctranslate2",
                name=os.path.basename(os.path.normpath(src)), sha256=digest, note=note)


def _ct2_sources(dims):
    """The CTranslate2 variable names a Whisper of these dims has."""
    names = {"encoder/conv1/weight", "encoder/conv1/bias", "encoder/conv2/weight", "encoder/conv2/bias",
             "encoder/position_encodings/encodings", "encoder/layer_norm/gamma", "encoder/layer_norm/beta",
             "decoder/embeddings/weight", "decoder/position_encodings/encodings", "decoder/layer_norm/gamma",
             "decoder/layer_norm/beta"}
    for side, nl in (("encoder", dims["n_audio_layer"]), ("decoder", dims["n_text_layer"])):
        for i in range(nl):
            c = f"{side}/layer_{i}"
            parts = ["self_attention/layer_norm/gamma", "self_attention/layer_norm/beta", "ffn/layer_norm/gamma",
                     "ffn/layer_norm/beta"]
            parts += [f"{m}/{w}" for m in ("self_attention/linear_0", "self_attention/linear_1", "ffn/linear_0",
                                            "ffn/linear_1") for w in ("weight", "bias")]
            if side == "decoder":
                parts += ["attention/layer_norm/gamma", "attention/layer_norm/beta"]
                parts += [f"attention/linear_{j}/{w}" for j in range(3) for w in ("weight", "bias")]
            names |= {f"{c}/{p}" for p in parts}
    return names


# ------------------------------------------------------- Hugging Face transformers

ST_DTYPES = {"F32": np.float32, "F16": np.float16, "BF16": np.uint16, "F64": np.float64}


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in ST_DTYPES:
            die(f"{path}: {name} has type {info['dtype']}; quantized checkpoints are not supported")
        b, e = info["data_offsets"]
        out[name] = raw[base + b:base + e].view(ST_DTYPES[info["dtype"]]).reshape(info["shape"])
    return out


def hf_read(src):
    idx = os.path.join(src, "model.safetensors.index.json")
    files = []
    if os.path.exists(os.path.join(src, "model.safetensors")):
        files = [os.path.join(src, "model.safetensors")]
    elif os.path.exists(idx):
        with open(idx) as f:
            files = [os.path.join(src, x) for x in sorted(set(json.load(f)["weight_map"].values()))]
    if files:
        w = {}
        for p in files:
            w.update(read_safetensors(p))
        return w, files
    p = os.path.join(src, "pytorch_model.bin")
    if os.path.exists(p):
        import torch
        sd = torch.load(p, map_location="cpu", weights_only=True)
        return {k: (x.float().numpy() if x.dtype == torch.bfloat16 else x.numpy()) for k, x in sd.items()}, [p]
    die(f"{src}: no model.safetensors, model.safetensors.index.json or pytorch_model.bin")


def from_hf(src):
    where = f"{src} (transformers)"
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "whisper":
        die(f"{where}: model_type {cfg.get('model_type')!r}, not 'whisper'")
    for k, want in (("activation_function", "gelu"), ("scale_embedding", False)):
        if cfg.get(k, want) != want:
            die(f"{where}: config {k} = {cfg.get(k)!r}; Whisper has {want!r}")
    w, files = hf_read(src)
    # WhisperForConditionalGeneration prefixes "model."; WhisperModel does not
    if any(k.startswith("model.") for k in w):
        w = {(k[6:] if k.startswith("model.") else k): x for k, x in w.items()}
    proj = w.pop("proj_out.weight", None)
    dims = dict(n_mels=cfg["num_mel_bins"], n_audio_ctx=cfg["max_source_positions"], n_audio_state=cfg["d_model"],
                n_audio_head=cfg["encoder_attention_heads"], n_audio_layer=cfg["encoder_layers"],
                n_vocab=cfg["vocab_size"], n_text_ctx=cfg["max_target_positions"], n_text_state=cfg["d_model"],
                n_text_head=cfg["decoder_attention_heads"], n_text_layer=cfg["decoder_layers"])
    ren = [(r"^encoder\.embed_positions\.weight$", "encoder.positional_embedding"),
           (r"^encoder\.layer_norm\.", "encoder.ln_post."),
           (r"^decoder\.embed_tokens\.", "decoder.token_embedding."),
           (r"^decoder\.embed_positions\.weight$", "decoder.positional_embedding"),
           (r"^decoder\.layer_norm\.", "decoder.ln."),
           (r"\.layers\.(\d+)\.", r".blocks.\1."),
           (r"\.self_attn_layer_norm\.", ".attn_ln."), (r"\.encoder_attn_layer_norm\.", ".cross_attn_ln."),
           (r"\.final_layer_norm\.", ".mlp_ln."), (r"\.self_attn\.", ".attn."), (r"\.encoder_attn\.", ".cross_attn."),
           (r"\.q_proj\.", ".query."), (r"\.k_proj\.", ".key."), (r"\.v_proj\.", ".value."),
           (r"\.out_proj\.", ".out."), (r"\.fc1\.", ".mlp.0."), (r"\.fc2\.", ".mlp.2.")]
    st = {}
    for k, x in w.items():
        o = k
        for pat, rep in ren:
            o = re.sub(pat, rep, o)
        if o.endswith(".key.bias"):
            if np.any(f32(x) != 0):
                die(f"{where}: {k} is not zero (Whisper's key has no bias)")
            continue
        st[o] = f32(x)
    if proj is not None and not np.array_equal(f32(proj), st.get("decoder.token_embedding.weight")):
        die(f"{where}: proj_out.weight differs from the token embedding (untied); not supported")
    tokens = None
    tj, vj = os.path.join(src, "tokenizer.json"), os.path.join(src, "vocab.json")
    if os.path.exists(tj):
        tokens = vocab_from_tokenizer_json(tj)
    elif os.path.exists(vj):
        with open(vj, encoding="utf-8") as f:
            ids = {i: t for t, i in json.load(f).items()}
        at = os.path.join(src, "added_tokens.json")
        if os.path.exists(at):
            with open(at, encoding="utf-8") as f:
                ids.update({i: t for t, i in json.load(f).items()})
        tokens = ids_to_list(ids, vj)
    else:
        die(f"{src}: no tokenizer.json or vocab.json")
    tokens = complete_timestamps(tokens, dims["n_vocab"], src)
    heads, suppress = None, cfg.get("suppress_tokens")
    gp = os.path.join(src, "generation_config.json")
    if os.path.exists(gp):
        with open(gp, encoding="utf-8") as f:
            gen = json.load(f)
        heads = gen.get("alignment_heads")
        suppress = gen.get("suppress_tokens", suppress)
    h = hashlib.sha256()
    for p in files:
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 24), b""):
                h.update(chunk)
    name = cfg.get("_name_or_path") or os.path.basename(os.path.normpath(src))
    return dict(dims=dims, state=st, tokens=tokens, alignment_heads=heads, source_suppress=suppress,
                kind="transformers", name=name, sha256=h.hexdigest(), note="")


# ------------------------------------------------------------- OpenAI .pt

def from_openai(src, tiktoken_path):
    import torch
    try:
        ck = torch.load(src, map_location="cpu", weights_only=False)
    except Exception as e:
        die(f"{src}: not a PyTorch checkpoint ({type(e).__name__}: {e})")
    if not isinstance(ck, dict) or "dims" not in ck or "model_state_dict" not in ck:
        die(f"{src}: not an openai-whisper checkpoint (no dims / model_state_dict)")
    dims = dict(ck["dims"])
    st = {k: x.float().numpy() for k, x in ck["model_state_dict"].items()}
    name = os.path.splitext(os.path.basename(src))[0]
    heads = ck.get("alignment_heads")
    try:
        import whisper
        assets = os.path.join(os.path.dirname(whisper.__file__), "assets")
        if heads is None and name in whisper._ALIGNMENT_HEADS:
            heads = whisper._ALIGNMENT_HEADS[name]
    except ImportError:
        assets = None
    if tiktoken_path is None:
        if assets is None:
            die(f"{src}: give --tiktoken (openai-whisper's multilingual.tiktoken) or install openai-whisper")
        tiktoken_path = os.path.join(assets, "multilingual.tiktoken" if dims["n_vocab"] >= 51865 else "gpt2.tiktoken")
    tokens = tiktoken_vocab(tiktoken_path, dims["n_vocab"])
    h = hashlib.sha256()
    with open(src, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 24), b""):
            h.update(chunk)
    if isinstance(heads, (bytes, str)):
        heads = decode_heads(heads, dims)
    return dict(dims=dims, state=st, tokens=tokens, alignment_heads=heads, source_suppress=None,
                kind="openai", name=name, sha256=h.hexdigest(), note="")


def decode_heads(s, dims):
    """openai-whisper's mask (base85 of gzip of bools [n_text_layer, n_text_head]) or "L,H;L,H"."""
    if isinstance(s, str) and re.fullmatch(r"[\d,;\s]+", s):
        pairs = [p for p in re.split(r"[;\s]+", s.strip()) if p]
        try:
            return [[int(x) for x in p.split(",")] for p in pairs]
        except ValueError:
            die(f"alignment heads {s!r}: expected LAYER,HEAD;LAYER,HEAD;...")
    raw = s.encode() if isinstance(s, str) else s
    try:
        mask = np.frombuffer(gzip.decompress(base64.b85decode(raw)), dtype=bool)
    except Exception as e:
        die(f"alignment heads {s!r}: neither pairs nor openai-whisper's base85 mask ({e})")
    if mask.size != dims["n_text_layer"] * dims["n_text_head"]:
        die(f"alignment heads: a mask of {mask.size} bools for {dims['n_text_layer']}x{dims['n_text_head']} heads")
    return [[int(i), int(j)] for i, j in np.argwhere(mask.reshape(dims["n_text_layer"], dims["n_text_head"]))]


# ----------------------------------------------------------------- mel filters

def slaney_mel_filters(n_mels, sr=16000, n_fft=400):
    """librosa.filters.mel(sr=sr, n_fft=n_fft, n_mels=n_mels) (Slaney scale and
    norm), computed as librosa computes it: float64, each row rounded to
    float32, then scaled by the float64 area norm."""
    f_sp, min_log_hz = 200.0 / 3, 1000.0
    min_log_mel, logstep = min_log_hz / f_sp, np.log(6.4) / 27.0

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        m = f / f_sp
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-10) / min_log_hz) / logstep, m)

    def mel_to_hz(m):
        m = np.asarray(m, dtype=np.float64)
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2.0), n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fftfreqs)
    weights = np.zeros((n_mels, 1 + n_fft // 2), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    enorm = 2.0 / (mel_f[2:n_mels + 2] - mel_f[:n_mels])
    weights *= enorm[:, np.newaxis]
    return weights


def mel_filters(n_mels):
    """openai-whisper's assets/mel_filters.npz when installed (checked against
    the computation above), else the computation."""
    ours = slaney_mel_filters(n_mels)
    try:
        import whisper
        path = os.path.join(os.path.dirname(whisper.__file__), "assets", "mel_filters.npz")
        with np.load(path) as f:
            ref = f[f"mel_{n_mels}"].astype(np.float32)
    except (ImportError, OSError, KeyError):
        return ours, "computed"
    err = float(np.abs(ref - ours).max())
    if err > 1e-6:
        die(f"mel filters: the computed Slaney filters differ from openai-whisper's by {err}")
    return ref, f"openai-whisper's (computed ones within {err:.1e})"


# ------------------------------------------------------------------- writing

def write(out, m, qtype, name):
    import gguf
    dims, st, tokens = m["dims"], m["state"], m["tokens"]
    check_state(st, dims, m["name"])
    if dims["n_mels"] not in (80, 128):
        die(f"{m['name']}: n_mels {dims['n_mels']}; Whisper has 80 or 128")
    for k in ("n_audio_state", "n_text_state"):
        head = "n_audio_head" if k == "n_audio_state" else "n_text_head"
        if dims[k] % dims[head]:
            die(f"{m['name']}: {k} {dims[k]} is not a multiple of {head} {dims[head]}")
    ids, langs = specials_from_vocab(tokens, m["name"])
    heads = m["alignment_heads"]
    if heads is None:
        nl, nh = dims["n_text_layer"], dims["n_text_head"]
        heads, heads_note = [[i, j] for i in range(nl // 2, nl) for j in range(nh)], "default (last half)"
    else:
        heads_note = "as given" if m.get("heads_given") else "from the source"
    heads = [[int(x) for x in p] for p in heads]
    for layer, head in heads:
        if not (0 <= layer < dims["n_text_layer"] and 0 <= head < dims["n_text_head"]):
            die(f"alignment head ({layer}, {head}) outside {dims['n_text_layer']} layers x {dims['n_text_head']} heads")
    specials = set(range(ids["token_eot"], len(tokens)))
    try:
        suppress = non_speech_tokens(tokens, ids["token_eot"])
        if m["source_suppress"] is not None:
            theirs = sorted(x for x in m["source_suppress"] if 0 <= x < ids["token_eot"])
            if theirs and theirs != suppress:
                print(f"whisper_to_gguf: note: the source's suppress list differs from non_speech_tokens "
                      f"({len(theirs)} vs {len(suppress)} tokens); writing non_speech_tokens", file=sys.stderr)
        supp_note = "non_speech_tokens"
    except ImportError:
        if not m["source_suppress"] or -1 in m["source_suppress"]:
            die("no tiktoken to compute the suppress list, and the source has none (pip install tiktoken)")
        suppress = sorted(x for x in set(m["source_suppress"]) if x not in specials)
        supp_note = "the source's list (no tiktoken)"
    filters, mel_note = mel_filters(dims["n_mels"])

    arch = "sori.whisper"
    w = gguf.GGUFWriter(out, arch)
    w.add_string("general.name", name or default_name(dims, m["name"]))
    w.add_string("general.source", f"{m['kind']} {m['name']} (sha256 {m['sha256']}) by tools/whisper_to_gguf.py")
    for k in ("n_mels", "n_audio_ctx", "n_audio_state", "n_audio_head", "n_audio_layer", "n_text_ctx",
              "n_text_state", "n_text_head", "n_text_layer", "n_vocab"):
        w.add_uint32(f"{arch}.{k}", int(dims[k]))
    w.add_array(f"{arch}.tokens", list(tokens))
    for k, i in ids.items():
        w.add_uint32(f"{arch}.{k}", int(i))
    w.add_array(f"{arch}.languages", list(langs))
    # openai-whisper: is_multilingual = n_vocab >= 51865 (English-only vocabularies keep the
    # language tokens but never use them)
    w.add_bool(f"{arch}.multilingual", int(dims["n_vocab"]) >= 51865)
    w.add_key_value(f"{arch}.suppress_tokens", [int(x) for x in suppress], gguf.GGUFValueType.ARRAY,
                    sub_type=gguf.GGUFValueType.INT32)
    w.add_key_value(f"{arch}.alignment_heads", [int(x) for p in heads for x in p], gguf.GGUFValueType.ARRAY,
                    sub_type=gguf.GGUFValueType.INT32)
    w.add_string(f"{arch}.source", m["kind"])

    tensors = {"mel_filters": filters}
    tensors.update(st)
    counts = {}
    for k, a in tensors.items():
        a = np.ascontiguousarray(a, dtype=np.float32)
        keep32 = a.ndim < 2 or k.endswith("positional_embedding") or k == "mel_filters" or qtype == "f32"
        if keep32:
            w.add_tensor(k, a)
            kind = "f32"
        elif qtype == "q8_0" and a.shape[-1] % 32 == 0:
            q = gguf.quants.quantize(a, gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(k, q, raw_shape=q.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            kind = "q8_0"
        else:
            w.add_tensor(k, a.astype(np.float16))
            kind = "f16"
        counts[kind] = counts.get(kind, 0) + 1
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    n_params = sum(a.size for a in st.values())
    extra = f", {m['note']}" if m["note"] else ""
    print(f"{out}: Whisper from {m['kind']} {m['name']}{extra}: {dims['n_mels']} mels, "
          f"enc {dims['n_audio_layer']}x{dims['n_audio_state']}/{dims['n_audio_head']}h ctx {dims['n_audio_ctx']}, "
          f"dec {dims['n_text_layer']}x{dims['n_text_state']}/{dims['n_text_head']}h ctx {dims['n_text_ctx']}, "
          f"{dims['n_vocab']} tokens, {len(langs)} languages, {n_params / 1e6:.1f}M weights "
          f"({', '.join(f'{n} {t}' for t, n in sorted(counts.items()))}); alignment heads {len(heads)} {heads_note}; "
          f"suppress {len(suppress)} ({supp_note}); mel filters {mel_note}; {os.path.getsize(out) / 1e6:.1f} MB")


def default_name(d, source_name):
    """"Whisper base (NAME)" for OpenAI's sizes, else NAME."""
    sizes = {(384, 4): "tiny", (512, 6): "base", (768, 12): "small", (1024, 24): "medium", (1280, 32): "large"}
    size = sizes.get((d["n_audio_state"], d["n_audio_layer"]))
    if size is None:
        return source_name
    if size == "large" and d["n_mels"] == 128:
        size = "large-v3-turbo" if d["n_text_layer"] == 4 else "large-v3"
    if d["n_vocab"] == 51864:
        size += ".en"
    return f"Whisper {size} ({source_name})"


def load_source(src, tiktoken_path=None):
    if os.path.isdir(src):
        if any(os.path.exists(os.path.join(src, f)) for f in ("model.bin", "model.bin.part1")):
            return from_ct2(src)
        if os.path.exists(os.path.join(src, "config.json")):
            return from_hf(src)
        die(f"{src}: neither a CTranslate2 directory (model.bin) nor a transformers one (config.json)")
    if os.path.isfile(src):
        return from_openai(src, tiktoken_path)
    die(f"{src}: no such file or directory")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("src", help="an OpenAI .pt, a transformers directory or a CTranslate2 directory")
    ap.add_argument("out", help="the .gguf to write")
    ap.add_argument("--type", choices=["f16", "f32", "q8_0"], default="f16")
    ap.add_argument("--name", help="general.name (default: the source's name)")
    ap.add_argument("--alignment-heads", help='"LAYER,HEAD;..." or openai-whisper\'s base85 mask')
    ap.add_argument("--tiktoken", help="openai-whisper's multilingual.tiktoken, for a .pt without openai-whisper")
    a = ap.parse_args()
    m = load_source(a.src, a.tiktoken)
    if a.alignment_heads:
        m["alignment_heads"] = decode_heads(a.alignment_heads, m["dims"])
        m["heads_given"] = True
    write(a.out, m, a.type, a.name)


if __name__ == "__main__":
    main()
