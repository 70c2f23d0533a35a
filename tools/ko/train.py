#!/usr/bin/env python3
"""Train the bundled Korean model: a cache-aware streaming FastConformer-CTC in NeMo's architecture.

    python3 tools/ko/train.py train  --work DIR [--hours-budget H]   # resumes from DIR/ckpt/last.pt
    python3 tools/ko/train.py bench  --work DIR                      # training throughput per size
    python3 tools/ko/train.py export --work DIR --out data/ko-fastconformer-ctc.gguf
    python3 tools/ko/train.py train  --work DIR --resume-from data/ko-fastconformer-ctc.gguf  # fresh machine

DIR holds tok/ (tools/ko/tokenizer.py), feats/ and devfeats/ (tools/ko/synth.py
feats shards), ckpt/ and logs/. The loop is our own (no Lightning trainer) over
NeMo's own modules (EncDecCTCModelBPE: ConformerEncoder + ConvASRDecoder +
SpectrogramAugmentation), so the checkpoint is an ordinary .nemo that
tools/nemo_to_gguf.py converts and sori runs unchanged.

Shards are read a few at a time (memory stays small while the feature cache
grows), utterances are bucketed by length into batches of at most --frames
feature frames, and every --ckpt-minutes the model, optimizer, schedule and
position are written atomically to DIR/ckpt/last.pt, so a run that is killed
resumes where it stopped (SIGTERM or Ctrl-C writes a checkpoint first). The exported
GGUF keeps what a resume needs besides the optimizer's moments (the unfolded batch
norm, the auxiliary heads and the training state, as train.* tensors and the
"sori.train.state" key), so a fresh machine resumes from the bundled model with
--resume-from: same weights, step, schedule and position in the epoch; the
optimizer starts again, its learning rate ramped up over --rewarm steps. Learning curve: DIR/logs/train.tsv (step, hours of
audio seen, loss, lr, wall time) and DIR/logs/dev.tsv (greedy CER on dev).
"""
import argparse
import contextlib
import glob
import json
import math
import os
import random
import signal
import sys
import time

import numpy as np
import torch
from omegaconf import OmegaConf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cer import edit_distance  # noqa: E402


def autocast(bf16):
    """bf16 matrix products on CPUs that have them (AVX512-BF16, AMX); the CTC loss stays f32."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()


SIZES = {
    # name: d_model, layers, heads, subsampling channels
    "s": (176, 12, 4, 176),
    "m": (208, 14, 4, 208),
    "xs": (144, 10, 4, 144),
    "s6": (176, 6, 4, 176),
}
ATT_CONTEXT = [56, 3]  # chunked_limited: 4-frame (320 ms) chunks, 14 chunks of left context


def feature_stats(work, shards=4):
    """Per-bin mean and standard deviation of the training features (the first few shards),
    cached in DIR/feats/stats.json. The model normalizes with them (NeMo's fixed_mean /
    fixed_std), which, unlike per-utterance normalization, works the same when streaming;
    unnormalized log-mels (mean -11.7, std 3.8 here) left CTC on its blank plateau."""
    path = os.path.join(work, "feats", "stats.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f)
    s = s2 = n = 0
    for p in sorted(glob.glob(os.path.join(work, "feats", "shard_*.npz")))[:shards]:
        f = np.load(p)["feats"].astype(np.float64)
        s, s2, n = s + f.sum(0), s2 + (f * f).sum(0), n + len(f)
    mean = s / n
    std = np.sqrt(np.maximum(s2 / n - mean * mean, 1e-10))
    st = {"mean": [round(float(v), 5) for v in mean], "std": [round(float(v), 5) for v in std], "frames": int(n)}
    with open(path + ".tmp", "w") as f:
        json.dump(st, f)
    os.replace(path + ".tmp", path)
    return st


def model_config(tok_dir, size, stats):
    d, layers, heads, ch = SIZES[size]
    return OmegaConf.create({
        "sample_rate": 16000,
        "tokenizer": {"dir": tok_dir, "type": "bpe"},
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": 16000,
                         "normalize": {"fixed_mean": stats["mean"], "fixed_std": stats["std"]}, "window_size": 0.025, "window_stride": 0.01,
                         "window": "hann", "features": 80, "n_fft": 512, "log": True, "frame_splicing": 1,
                         "dither": 0.0, "pad_to": 0, "pad_value": 0.0},
        "spec_augment": {"_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
                         "freq_masks": 2, "time_masks": 2, "freq_width": 20, "time_width": 0.05},
        "encoder": {"_target_": "nemo.collections.asr.modules.ConformerEncoder", "feat_in": 80,
                    "feat_out": -1, "n_layers": layers, "d_model": d, "subsampling": "dw_striding",
                    "subsampling_factor": 8, "subsampling_conv_channels": ch, "causal_downsampling": True,
                    "ff_expansion_factor": 4, "self_attention_model": "rel_pos", "n_heads": heads,
                    "att_context_size": ATT_CONTEXT, "att_context_style": "chunked_limited",
                    "xscaling": True, "untie_biases": True, "pos_emb_max_len": 5000,
                    "conv_kernel_size": 9, "conv_norm_type": "batch_norm", "conv_context_size": "causal",
                    "dropout": 0.1, "dropout_pre_encoder": 0.1, "dropout_emb": 0.0, "dropout_att": 0.1},
        "decoder": {"_target_": "nemo.collections.asr.modules.ConvASRDecoder", "feat_in": d,
                    "num_classes": -1, "vocabulary": []},
        "optim": None,
    })


def init_subsampling(model):
    """He initialization of the subsampling convolutions (zero biases). With PyTorch's default
    init every conv stage halves the input's variation while the biases stay, so the encoder
    starts with a residual stream that is ~99 % a constant vector; training then collapsed to an
    input-independent output (the token prior) within a few hundred steps."""
    for mod in model.encoder.pre_encode.modules():
        if isinstance(mod, torch.nn.Conv2d):
            fan_in = mod.weight[0].numel()
            torch.nn.init.normal_(mod.weight, 0.0, math.sqrt(2.0 / fan_in))
            torch.nn.init.zeros_(mod.bias)
        elif isinstance(mod, torch.nn.Linear):
            torch.nn.init.xavier_uniform_(mod.weight)
            torch.nn.init.zeros_(mod.bias)


def freeze_subsampling(model):
    """Stop training the subsampling convolutions (their final linear projection still trains).
    They are ~3/4 of a step's time on a CPU, most of it in their backward pass; with them frozen
    autograd stops at the projection, and the input needs no gradient. For late training, once the
    front end has settled; the architecture and the exported model are unchanged."""
    n = 0
    for p in model.encoder.pre_encode.conv.parameters():
        p.requires_grad_(False)
        n += p.numel()
    return n


def build(work, size):
    import logging
    logging.getLogger("nemo_logger").setLevel(logging.ERROR)
    from nemo.collections.asr.models import EncDecCTCModelBPE
    return EncDecCTCModelBPE(cfg=model_config(os.path.join(work, "tok"), size, feature_stats(work)))


def is_easy(frames, meta):
    """The curriculum's first phase: at most 4 s, no reverberation, no noise louder than 10 dB SNR
    (telephone channels allowed). CTC leaves its all-blank plateau far sooner on these."""
    m = json.loads(meta) if meta else {}
    return frames <= 400 and "reverb" not in m and m.get("noise", 99) >= 10 and m.get("babble", 99) >= 10


class Shards:
    """Utterances from feats shards, a few shards at a time, in length-bucketed batches."""

    def __init__(self, pattern, tokenizer, frames, seed, stats):
        self.mean = np.array(stats["mean"], np.float32)
        self.std = np.array(stats["std"], np.float32)
        self.pattern = pattern
        self.tok = tokenizer
        self.frames = frames
        self.seed = seed

    def files(self):
        return sorted(glob.glob(self.pattern))

    @staticmethod
    def load(path, easy=False):
        z = np.load(path)
        lens = z["lens"]
        offs = np.concatenate([[0], np.cumsum(lens)])
        feats = z["feats"]
        metas = z["meta"] if "meta" in z.files else [""] * len(lens)
        return [(feats[offs[i]:offs[i + 1]], str(t)) for i, t in enumerate(z["texts"])
                if not easy or is_easy(int(lens[i]), str(metas[i]))]

    def batches(self, epoch, group=4, skip=0, easy=False):
        """Batches of the epoch, the first `skip` passed over without building them (resuming);
        `easy`: only short, mildly degraded utterances (the curriculum's first phase)."""
        files = self.files()
        rng = random.Random(self.seed * 1000 + epoch)
        rng.shuffle(files)
        for g in range(0, len(files), group):
            utts = []
            for p in files[g:g + group]:
                try:
                    utts += self.load(p, easy)
                except Exception as e:  # a shard being written or damaged: skip it, say so
                    print(f"skipping {p}: {e}", file=sys.stderr)
            utts.sort(key=lambda u: len(u[0]))
            out, cur = [], []
            for u in utts:
                if cur and (len(cur) + 1) * len(u[0]) > self.frames:
                    out.append(cur)
                    cur = []
                cur.append(u)
            if cur:
                out.append(cur)
            rng.shuffle(out)
            for b in out:
                if skip > 0:
                    skip -= 1
                    yield None
                else:
                    yield self.collate(b)

    def collate(self, b):
        T = max(len(f) for f, _ in b)
        x = torch.zeros(len(b), 80, T)
        xl = torch.tensor([len(f) for f, _ in b])
        ys = [self.tok.text_to_ids(t) for _, t in b]
        U = max(1, max(len(y) for y in ys))
        y = torch.zeros(len(b), U, dtype=torch.long)
        for i, (f, _) in enumerate(b):
            x[i, :, :len(f)] = torch.from_numpy((f.astype(np.float32) - self.mean) / self.std).T
            y[i, :len(ys[i])] = torch.tensor(ys[i])
        yl = torch.tensor([len(v) for v in ys])
        return x, xl, y, yl, [t for _, t in b]


def ctc(logp, el, y, yl):
    return torch.nn.functional.ctc_loss(logp.float().transpose(0, 1), y, el, yl, blank=logp.shape[-1] - 1,
                                        reduction="mean", zero_infinity=True)


def lr_at(step, peak, warmup):
    step = max(step, 1)
    return peak * min(step / warmup, math.sqrt(warmup / step))


def greedy_texts(model, logp, lens):
    blank = logp.shape[-1] - 1
    out = []
    for i in range(logp.shape[0]):
        ids = logp[i, :lens[i]].argmax(-1).tolist()
        toks, prev = [], None
        for t in ids:
            if t != prev and t != blank:
                toks.append(t)
            prev = t
        out.append(model.tokenizer.ids_to_text(toks) if toks else "")
    return out


def evaluate(model, shards, limit=600):
    model.eval()
    errs = chars = n = 0
    with torch.no_grad():
        for x, xl, _, _, texts in shards.batches(0, group=1):
            logp, el, _ = model.forward(processed_signal=x, processed_signal_length=xl)
            for hyp, ref in zip(greedy_texts(model, logp, el), texts):
                r, h = ref.replace(" ", ""), hyp.replace(" ", "")
                errs += edit_distance(r, h)
                chars += len(r)
                n += 1
            if n >= limit:
                break
    model.train()
    return errs / max(chars, 1), n


JAMO = (19, 21, 28)  # onsets, vowels, codas (no coda = 0) of a Hangul syllable


class JamoHeads(torch.nn.Module):
    """Training-only auxiliary CTC heads on encoder layers: the syllable sequence factorized into
    its onset, vowel and coda (19 / 21 / 28 classes + blank, one label per syllable each). With
    3,000 sentence pieces the main CTC head first learns only their prior, and the encoder drifts
    to an input-independent output; these small, frequent, acoustically plain classes keep the
    encoder tied to the sound until the main head follows. Not part of the NeMo model: the GGUF keeps them only as train.* tensors, for resuming."""

    def __init__(self, d, layers):
        super().__init__()
        self.layers = layers
        self.heads = torch.nn.ModuleList(torch.nn.Linear(d, n + 1) for _ in layers for n in JAMO)

    @staticmethod
    def targets(texts):
        seqs = [[], [], []]
        for t in texts:
            codes = [ord(c) - 0xAC00 for c in t if 0xAC00 <= ord(c) <= 0xD7A3]
            seqs[0].append([c // 588 for c in codes])
            seqs[1].append([(c % 588) // 28 for c in codes])
            seqs[2].append([c % 28 for c in codes])
        out = []
        for seq in seqs:
            U = max(1, max(len(v) for v in seq))
            y = torch.zeros(len(seq), U, dtype=torch.long)
            for i, v in enumerate(seq):
                y[i, :len(v)] = torch.tensor(v, dtype=torch.long)
            out.append((y, torch.tensor([len(v) for v in seq])))
        return out

    def loss(self, outs, el, texts):
        tg = self.targets(texts)
        total, k = 0.0, 0
        for j, layer in enumerate(self.layers):
            h = outs[layer].float()
            for q in range(3):
                lp = torch.log_softmax(self.heads[3 * j + q](h), dim=-1)
                y, yl = tg[q]
                total = total + ctc(lp, el, y, yl)
                k += 1
        return total / k


def save_ckpt(path, model, opt, state, aux=None):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                "aux": aux.state_dict() if aux is not None else None}, tmp)
    os.replace(tmp, path)


def load_gguf_for_training(path, model, aux):
    """Weights, auxiliary heads and training state from a GGUF that train.py exported."""
    import gguf
    r = gguf.GGUFReader(path)
    field = r.fields.get("sori.train.state")
    if field is None:
        sys.exit(f"train.py: {path} has no training state (not exported by train.py export)")
    state = json.loads(bytes(field.parts[field.data[0]]).decode())
    vocab = r.fields["sori.conformer.vocab"]
    pieces = [bytes(vocab.parts[i]).decode() for i in vocab.data]
    own_pieces = [model.tokenizer.ids_to_tokens([i])[0] for i in range(model.tokenizer.vocab_size)]
    if pieces != own_pieces:
        sys.exit(f"train.py: {path}'s vocabulary differs from DIR/tok's tokenizer (rerun tools/ko/tokenizer.py)")
    t = {x.name: np.array(x.data) for x in r.tensors}
    own = model.state_dict()
    new = {}
    for k, v in own.items():
        src = t.get("train." + k, t.get(k))
        if k.endswith("num_batches_tracked") or k.startswith("preprocessor."):
            src = v.numpy()  # a counter, and the window and filterbank the config makes
        if src is None or src.size != v.numel():
            sys.exit(f"train.py: {path} lacks {k} of shape {tuple(v.shape)}")
        new[k] = torch.from_numpy(src.astype(np.float32).reshape(v.shape)).to(v.dtype)
    model.load_state_dict(new)
    layers = state.get("jamo_layers", [])
    if layers != aux.layers:
        sys.exit(f"train.py: {path} was trained with --jamo-layers {','.join(map(str, layers))}")
    for k, v in aux.state_dict().items():
        if "train.aux." + k not in t:
            sys.exit(f"train.py: {path} lacks the auxiliary head {k}")
        v.copy_(torch.from_numpy(t["train.aux." + k].astype(np.float32).reshape(v.shape)))
    mean, std = t["features.norm_mean"].ravel(), t["features.norm_std"].ravel()
    return state, mean, std


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ck_dir = a.ckpt_dir or os.path.join(a.work, "ckpt")
    log_dir = os.path.join(a.work, "logs")
    os.makedirs(ck_dir, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    model = build(a.work, a.size)
    aux = JamoHeads(SIZES[a.size][0], a.jamo_layers)
    opt = torch.optim.AdamW(list(model.parameters()) + list(aux.parameters()), lr=a.lr, betas=(0.9, 0.98),
                            weight_decay=1e-3)
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "hours": 0.0, "wall": 0.0, "size": a.size}
    init_subsampling(model)
    stats = feature_stats(a.work)
    last = os.path.join(ck_dir, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        if ck["state"].get("size", a.size) != a.size:
            sys.exit(f"train.py: {last} is size {ck['state']['size']}, not {a.size}")
        model.load_state_dict(ck["model"])
        if ck.get("aux"):
            aux.load_state_dict(ck["aux"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print(f"resumed at step {state['step']}, {state['hours']:.1f} h seen", flush=True)
    elif a.resume_from:
        state, mean, std = load_gguf_for_training(a.resume_from, model, aux)
        if max(np.abs(np.array(stats["mean"]) - mean).max(), np.abs(np.array(stats["std"]) - std).max()) > 1e-3:
            sys.exit(f"train.py: {a.resume_from} normalizes with other feature statistics than "
                     f"DIR/feats/stats.json (other shards?)")
        state["rewarm"] = state["step"]
        print(f"resumed from {a.resume_from} at step {state['step']}, {state['hours']:.1f} h seen "
              f"(optimizer restarts, learning rate ramped over {a.rewarm} steps)", flush=True)
    elif a.init_from:  # a new run from another run's weights: the layers both have, and the heads
        ck = torch.load(a.init_from, map_location="cpu", weights_only=False)
        own = model.state_dict()
        took = {k: v for k, v in ck["model"].items() if k in own and own[k].shape == v.shape}
        model.load_state_dict(took, strict=False)
        if ck.get("aux"):
            src_layers = [int(k) for k in ck.get("state", {}).get("jamo_layers", [])] or a.init_jamo_layers
            for j, layer in enumerate(a.jamo_layers):
                if layer in src_layers:
                    i = src_layers.index(layer)
                    for q in range(3):
                        aux.heads[3 * j + q].weight.data.copy_(ck["aux"][f"heads.{3 * i + q}.weight"])
                        aux.heads[3 * j + q].bias.data.copy_(ck["aux"][f"heads.{3 * i + q}.bias"])
        state["init_from"] = {"path": os.path.basename(a.init_from), "step": ck["state"]["step"],
                              "hours": ck["state"]["hours"], "wall": ck["state"]["wall"]}
        print(f"initialized from {a.init_from}: {len(took)} of {len(own)} tensors", flush=True)
    state["jamo_layers"] = a.jamo_layers
    if a.max_steps and state["step"] >= a.max_steps:
        print(f"at step {state['step']} already (--max-steps {a.max_steps})", flush=True)
        return
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {a.size}: {n_params / 1e6:.2f} M parameters", flush=True)
    if a.freeze_subsampling:
        state.setdefault("frozen_subsampling_from", state["step"])
        print(f"subsampling convolutions frozen ({freeze_subsampling(model) / 1e6:.2f} M parameters)", flush=True)
    train = Shards(os.path.join(a.work, "feats", "shard_*.npz"), model.tokenizer, a.frames, a.seed, stats)
    dev = Shards(os.path.join(a.work, "devfeats", "shard_*.npz"), model.tokenizer, a.frames, a.seed, stats)
    model.train()
    tlog = open(os.path.join(log_dir, "train.tsv"), "a")
    dlog = open(os.path.join(log_dir, "dev.tsv"), "a")
    t_start = time.time()
    wall0 = state["wall"]
    last_ck = last_eval = time.time()
    stop_at = t_start + a.hours_budget * 3600 if a.hours_budget else None
    stop = {"now": False}  # SIGTERM / SIGINT: checkpoint after this step, then exit
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.update(now=True))
    spec_augment = model.spec_augmentation
    inter = {}  # outputs of the auxiliary heads' encoder layers, captured by hooks
    for i in a.jamo_layers:
        model.encoder.layers[i - 1].register_forward_hook(
            lambda mod, inp, out, i=i: inter.__setitem__(i, out if torch.is_tensor(out) else out[0]))
    while True:
        k = 0
        easy = state["step"] < a.easy_steps
        # no SpecAugment in the easy phase, nor with --no-specaug
        model.spec_augmentation = None if easy or a.no_specaug else spec_augment
        if easy:  # the easy phase draws from the whole set in an order of its own, from any step
            batches = train.batches(10000 + state["step"], easy=True)
        else:
            batches = train.batches(state["epoch"], skip=state["batch_in_epoch"])
        for batch in batches:
            if easy and state["step"] >= a.easy_steps:
                break
            k += 1
            if batch is None:
                continue  # resume inside an epoch
            x, xl, y, yl, texts = batch
            lr = lr_at(state["step"] + 1, a.lr, a.warmup)
            if "rewarm" in state:  # a fresh optimizer after --resume-from: ramp its steps up
                lr *= min(1.0, (state["step"] + 1 - state["rewarm"]) / a.rewarm)
            if a.anneal and state["step"] >= a.anneal[0]:  # linear decay to a tenth at the stage's end
                lr *= max(0.1, 1.0 - 0.9 * (state["step"] + 1 - a.anneal[0]) / (a.anneal[1] - a.anneal[0]))
            for g in opt.param_groups:
                g["lr"] = lr
            inter.clear()
            with autocast(a.bf16):
                logp, el, _ = model.forward(processed_signal=x, processed_signal_length=xl)
            loss = ctc(logp, el, y, yl)
            total = loss
            if a.jamo_layers:
                jl = aux.loss(inter, el, texts)
                total = total + a.jamo_weight * jl
                if state["step"] % 20 == 0:
                    print(f"step {state['step']} ctc {loss.item():.3f} jamo {jl.item():.3f}", flush=True)
            opt.zero_grad(set_to_none=True)
            total.backward()
            gn = torch.nn.utils.clip_grad_norm_(list(model.parameters()) + list(aux.parameters()), 5.0)
            if torch.isfinite(gn):
                opt.step()
            state["step"] += 1
            if not easy:
                state["batch_in_epoch"] = k
            state["hours"] += float(xl.sum()) / 100 / 3600
            state["wall"] = wall0 + time.time() - t_start
            if state["step"] % 20 == 0:
                tlog.write(f"{state['step']}\t{state['hours']:.3f}\t{loss.item():.4f}\t{lr:.2e}\t{state['wall']:.0f}\n")
                tlog.flush()
            if a.keep_every and state["step"] >= a.keep_from and state["step"] % a.keep_every == 0:
                # weights kept for averaging (export --ckpt A,B,...): no optimizer state
                torch.save({"model": model.state_dict(), "state": dict(state),
                            "aux": aux.state_dict() if aux is not None else None},
                           os.path.join(os.path.dirname(last), f"keep_{state['step']:06d}.pt"))
            now = time.time()
            if now - last_ck > a.ckpt_minutes * 60:
                save_ckpt(last, model, opt, state, aux)
                last_ck = now
            if now - last_eval > a.eval_minutes * 60:
                cer, n = evaluate(model, dev)
                dlog.write(f"{state['step']}\t{state['hours']:.3f}\t{cer:.4f}\t{n}\t{state['wall']:.0f}\n")
                dlog.flush()
                print(f"step {state['step']} hours {state['hours']:.1f} loss {loss.item():.3f} dev CER {cer:.4f}",
                      flush=True)
                last_eval = time.time()
            if (stop_at and now > stop_at) or stop["now"] or (a.max_steps and state["step"] >= a.max_steps):
                save_ckpt(last, model, opt, state, aux)
                print(f"stopped at step {state['step']}, checkpoint written", flush=True)
                return
        if easy:
            continue
        state["epoch"] += 1
        state["batch_in_epoch"] = 0
        save_ckpt(last, model, opt, state, aux)


def cmd_bench(a):
    torch.set_num_threads(a.threads)
    for size in a.sizes.split(","):
        model = build(a.work, size)
        model.train()
        if a.freeze_subsampling:
            freeze_subsampling(model)
        opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
        train = Shards(os.path.join(a.work, "feats", "shard_*.npz"), model.tokenizer, a.frames, a.seed,
                   feature_stats(a.work))
        it = train.batches(0)
        t = frames = 0
        for i in range(a.steps + 2):
            x, xl, y, yl, _ = next(it)
            t0 = time.time()
            with autocast(a.bf16):
                logp, el, _ = model.forward(processed_signal=x, processed_signal_length=xl)
            loss = ctc(logp, el, y, yl)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 2:
                t += time.time() - t0
                frames += int(xl.sum())
        n = sum(p.numel() for p in model.parameters())
        print(f"{size}: {n / 1e6:.2f} M params, {frames / 100 / t:.1f} s of audio per second "
              f"({frames / 100 / t * 3600 / 3600:.1f} h per hour)", flush=True)


def data_card(state):
    """The short data card stored in the GGUF (sori.data_card); docs/model-card-ko.md is the full one."""
    before = state.get("init_from") or {}
    return (f"sori's Korean FastConformer-CTC ({state['size']}), trained by tools/ko/recipe.sh on 2 CPU cores "
            f"from scratch: {state['step']} steps of this stage after {before.get('step', 0)} of a 12-layer stage, "
            f"{state['hours'] + before.get('hours', 0):.0f} h of audio seen, "
            f"{(state['wall'] + before.get('wall', 0)) / 3600:.1f} h of wall time"
            + (f" (weights averaged over steps {', '.join(map(str, state['averaged']))})" if state.get("averaged") else "")
            + f". Training speech: espeak-ng voices "
            f"speaking the g2pkk pronunciation of sentences from ko_corpus.tsv.xz (NSMC CC0-1.0; 3i4k, "
            f"korean-hate-speech, StyleKQC, sae4k, KorNLUDatasets, KLUE, APEACH, UD Korean GSD/Kaist/PUD and "
            f"korean-parallel-corpora CC-BY-SA; others MIT, CC-BY, Apache-2.0 or CC-BY-2.0-FR), with noise, "
            f"reverberation and telephone channels. No real speech was trained on. Sources, attribution and "
            f"measured error rates: docs/model-card-ko.md.")


def cmd_export(a):
    import subprocess
    import tempfile
    names = [n for n in a.ckpt.split(",") if n]
    cks = [torch.load(os.path.join(a.work, "ckpt", n), map_location="cpu", weights_only=False) for n in names]
    ck = cks[-1]  # its training state and auxiliary heads go into the file
    if len(cks) > 1:  # the mean of the checkpoints' weights (integer buffers: the last one's)
        for k, v in ck["model"].items():
            if v.is_floating_point():
                ck["model"][k] = sum(c["model"][k].double() for c in cks).div(len(cks)).to(v.dtype)
        ck["state"]["averaged"] = [int(c["state"]["step"]) for c in cks]
        print(f"averaged the weights of steps {ck['state']['averaged']}", flush=True)
    model = build(a.work, ck["state"]["size"])
    model.load_state_dict(ck["model"])
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        nemo = os.path.join(tmp, os.path.splitext(os.path.basename(a.out))[0] + ".nemo")  # general.name
        model.save_to(nemo)
        if a.nemo:
            import shutil
            shutil.copy(nemo, a.nemo)
        extra, st = os.path.join(tmp, "aux.npz"), os.path.join(tmp, "state.json")
        np.savez(extra, **{"train.aux." + k: v.float().numpy() for k, v in (ck.get("aux") or {}).items()})
        with open(st, "w") as f:
            json.dump({k: v for k, v in ck["state"].items() if k != "rewarm"}, f)
        card = os.path.join(tmp, "card.txt")
        with open(card, "w", encoding="utf-8") as f:
            f.write(data_card(ck["state"]))
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "..", "nemo_to_gguf.py"), nemo, a.out,
                        "--extra", extra, "--train-state", st, "--data-card", card]
                       + (["--f16"] if a.f16 else []), check=True)
    print(json.dumps(ck["state"]))


def layer_list(v):
    return [int(x) for x in v.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "bench", "export"):
        p = sub.add_parser(name)
        p.add_argument("--work", required=True)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--frames", type=int, default=10000, help="feature frames per batch (padded)")
        p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass")
    t = sub.choices["train"]
    t.add_argument("--size", default="s", choices=sorted(SIZES))
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup", type=int, default=400)
    t.add_argument("--easy-steps", type=int, default=0,
                   help="curriculum: until this step, only short, mildly degraded utterances, no SpecAugment")
    t.add_argument("--no-specaug", action="store_true",
                   help="no SpecAugment (the data is already degraded; while the model underfits it only slows it)")
    t.add_argument("--freeze-subsampling", action="store_true",
                   help="stop training the subsampling convolutions (late training: ~2x faster steps on a CPU)")
    t.add_argument("--jamo-layers", type=layer_list, default=[],
                   help="auxiliary onset/vowel/coda CTC heads (training only) after these layers, e.g. 6,12")
    t.add_argument("--jamo-weight", type=float, default=0.5)
    t.add_argument("--init-from", help="start a new run from this checkpoint's weights (matching tensors)")
    t.add_argument("--resume-from", help="when DIR/ckpt has no checkpoint: resume from a GGUF that export wrote")
    t.add_argument("--rewarm", type=int, default=200, help="learning-rate ramp after --resume-from")
    t.add_argument("--init-jamo-layers", type=layer_list, default=[6, 12],
                   help="the jamo layers of --init-from's run, when its checkpoint does not say")
    t.add_argument("--anneal", type=lambda v: [int(x) for x in v.split(":")],
                   help="START:END: scale the learning rate linearly down to a tenth from step START to END")
    t.add_argument("--ckpt-minutes", type=float, default=10)
    t.add_argument("--eval-minutes", type=float, default=30)
    t.add_argument("--hours-budget", type=float, default=0, help="stop after this many wall-clock hours")
    t.add_argument("--max-steps", type=int, default=0, help="stop (with a checkpoint) at this step")
    t.add_argument("--ckpt-dir", help="checkpoint directory (default DIR/ckpt)")
    t.add_argument("--keep-every", type=int, default=0,
                   help="also keep the weights every this many steps (ckpt/keep_STEP.pt), for averaging")
    t.add_argument("--keep-from", type=int, default=0, help="... from this step on")
    b = sub.choices["bench"]
    b.add_argument("--sizes", default="xs,s,m")
    b.add_argument("--steps", type=int, default=4)
    b.add_argument("--freeze-subsampling", action="store_true")
    e = sub.choices["export"]
    e.add_argument("--out", required=True)
    e.add_argument("--ckpt", default="last.pt",
                   help="a checkpoint in DIR/ckpt, or several (A,B,...): their weights averaged")
    e.add_argument("--nemo", help="also keep the .nemo here")
    e.add_argument("--f16", action="store_true")
    a = ap.parse_args()
    {"train": cmd_train, "bench": cmd_bench, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    main()
