#!/usr/bin/env python3
"""Train the bundled Korean model: a cache-aware streaming FastConformer-CTC in NeMo's architecture.

    python3 tools/ko/train.py train  --work DIR [--hours-budget H]   # resumes from DIR/ckpt/last.pt
    python3 tools/ko/train.py bench  --work DIR                      # training throughput per size
    python3 tools/ko/train.py export --work DIR --out data/ko-fastconformer-ctc.gguf

DIR holds tok/ (tools/ko/tokenizer.py), feats/ and devfeats/ (tools/ko/synth.py
feats shards), ckpt/ and logs/. The loop is our own (no Lightning trainer) over
NeMo's own modules (EncDecCTCModelBPE: ConformerEncoder + ConvASRDecoder +
SpectrogramAugmentation), so the checkpoint is an ordinary .nemo that
tools/nemo_to_gguf.py converts and sori runs unchanged.

Shards are read a few at a time (memory stays small while the feature cache
grows), utterances are bucketed by length into batches of at most --frames
feature frames, and every --ckpt-minutes the model, optimizer, schedule and
position are written atomically to DIR/ckpt/last.pt, so a run that is killed
resumes where it stopped (SIGTERM or Ctrl-C writes a checkpoint first). Learning curve: DIR/logs/train.tsv (step, hours of
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
}
ATT_CONTEXT = [56, 3]  # chunked_limited: 4-frame (320 ms) chunks, 14 chunks of left context


def model_config(tok_dir, size):
    d, layers, heads, ch = SIZES[size]
    return OmegaConf.create({
        "sample_rate": 16000,
        "tokenizer": {"dir": tok_dir, "type": "bpe"},
        "preprocessor": {"_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
                         "sample_rate": 16000, "normalize": "NA", "window_size": 0.025, "window_stride": 0.01,
                         "window": "hann", "features": 80, "n_fft": 512, "log": True, "frame_splicing": 1,
                         "dither": 0.0, "pad_to": 0, "pad_value": 0.0},
        "spec_augment": {"_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
                         "freq_masks": 2, "time_masks": 4, "freq_width": 20, "time_width": 0.05},
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


def build(work, size):
    import logging
    logging.getLogger("nemo_logger").setLevel(logging.ERROR)
    from nemo.collections.asr.models import EncDecCTCModelBPE
    return EncDecCTCModelBPE(cfg=model_config(os.path.join(work, "tok"), size))


class Shards:
    """Utterances from feats shards, a few shards at a time, in length-bucketed batches."""

    def __init__(self, pattern, tokenizer, frames, seed):
        self.pattern = pattern
        self.tok = tokenizer
        self.frames = frames
        self.seed = seed

    def files(self):
        return sorted(glob.glob(self.pattern))

    @staticmethod
    def load(path):
        z = np.load(path)
        lens = z["lens"]
        offs = np.concatenate([[0], np.cumsum(lens)])
        feats = z["feats"]
        return [(feats[offs[i]:offs[i + 1]], str(t)) for i, t in enumerate(z["texts"])]

    def batches(self, epoch, group=4, skip=0):
        """Batches of the epoch, the first `skip` passed over without building them (resuming)."""
        files = self.files()
        rng = random.Random(self.seed * 1000 + epoch)
        rng.shuffle(files)
        for g in range(0, len(files), group):
            utts = []
            for p in files[g:g + group]:
                try:
                    utts += self.load(p)
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
            x[i, :, :len(f)] = torch.from_numpy(f.astype(np.float32)).T
            y[i, :len(ys[i])] = torch.tensor(ys[i])
        yl = torch.tensor([len(v) for v in ys])
        return x, xl, y, yl, [t for _, t in b]


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


def save_ckpt(path, model, opt, state):
    tmp = path + ".tmp"
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state}, tmp)
    os.replace(tmp, path)


def cmd_train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    ck_dir = os.path.join(a.work, "ckpt")
    log_dir = os.path.join(a.work, "logs")
    os.makedirs(ck_dir, exist_ok=True)
    os.makedirs(log_dir, exist_ok=True)
    model = build(a.work, a.size)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=1e-3)
    state = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "hours": 0.0, "wall": 0.0, "size": a.size}
    last = os.path.join(ck_dir, "last.pt")
    if os.path.exists(last):
        ck = torch.load(last, map_location="cpu", weights_only=False)
        if ck["state"].get("size", a.size) != a.size:
            sys.exit(f"train.py: {last} is size {ck['state']['size']}, not {a.size}")
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        state = ck["state"]
        print(f"resumed at step {state['step']}, {state['hours']:.1f} h seen", flush=True)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"model {a.size}: {n_params / 1e6:.2f} M parameters", flush=True)
    train = Shards(os.path.join(a.work, "feats", "shard_*.npz"), model.tokenizer, a.frames, a.seed)
    dev = Shards(os.path.join(a.work, "devfeats", "shard_*.npz"), model.tokenizer, a.frames, a.seed)
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
    while True:
        k = 0
        for batch in train.batches(state["epoch"], skip=state["batch_in_epoch"]):
            k += 1
            if batch is None:
                continue  # resume inside an epoch
            x, xl, y, yl, _ = batch
            lr = lr_at(state["step"] + 1, a.lr, a.warmup)
            for g in opt.param_groups:
                g["lr"] = lr
            with autocast(a.bf16):
                logp, el, _ = model.forward(processed_signal=x, processed_signal_length=xl)
            loss = torch.nn.functional.ctc_loss(logp.float().transpose(0, 1), y, el, yl, blank=logp.shape[-1] - 1,
                                                reduction="mean", zero_infinity=True)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            if torch.isfinite(gn):
                opt.step()
            state["step"] += 1
            state["batch_in_epoch"] = k
            state["hours"] += float(xl.sum()) / 100 / 3600
            state["wall"] = wall0 + time.time() - t_start
            if state["step"] % 20 == 0:
                tlog.write(f"{state['step']}\t{state['hours']:.3f}\t{loss.item():.4f}\t{lr:.2e}\t{state['wall']:.0f}\n")
                tlog.flush()
            now = time.time()
            if now - last_ck > a.ckpt_minutes * 60:
                save_ckpt(last, model, opt, state)
                last_ck = now
            if now - last_eval > a.eval_minutes * 60:
                cer, n = evaluate(model, dev)
                dlog.write(f"{state['step']}\t{state['hours']:.3f}\t{cer:.4f}\t{n}\t{state['wall']:.0f}\n")
                dlog.flush()
                print(f"step {state['step']} hours {state['hours']:.1f} loss {loss.item():.3f} dev CER {cer:.4f}",
                      flush=True)
                last_eval = time.time()
            if (stop_at and now > stop_at) or stop["now"]:
                save_ckpt(last, model, opt, state)
                print(f"stopped at step {state['step']}, checkpoint written", flush=True)
                return
        state["epoch"] += 1
        state["batch_in_epoch"] = 0
        save_ckpt(last, model, opt, state)


def cmd_bench(a):
    torch.set_num_threads(a.threads)
    for size in a.sizes.split(","):
        model = build(a.work, size)
        model.train()
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
        train = Shards(os.path.join(a.work, "feats", "shard_*.npz"), model.tokenizer, a.frames, a.seed)
        it = train.batches(0)
        t = frames = 0
        for i in range(a.steps + 2):
            x, xl, y, yl, _ = next(it)
            t0 = time.time()
            with autocast(a.bf16):
                logp, el, _ = model.forward(processed_signal=x, processed_signal_length=xl)
            loss = torch.nn.functional.ctc_loss(logp.float().transpose(0, 1), y, el, yl, blank=logp.shape[-1] - 1,
                                                zero_infinity=True)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if i >= 2:
                t += time.time() - t0
                frames += int(xl.sum())
        n = sum(p.numel() for p in model.parameters())
        print(f"{size}: {n / 1e6:.2f} M params, {frames / 100 / t:.1f} s of audio per second "
              f"({frames / 100 / t * 3600 / 3600:.1f} h per hour)", flush=True)


def cmd_export(a):
    import subprocess
    import tempfile
    ck = torch.load(os.path.join(a.work, "ckpt", a.ckpt), map_location="cpu", weights_only=False)
    model = build(a.work, ck["state"]["size"])
    model.load_state_dict(ck["model"])
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        nemo = os.path.join(tmp, os.path.splitext(os.path.basename(a.out))[0] + ".nemo")  # general.name
        model.save_to(nemo)
        if a.nemo:
            import shutil
            shutil.copy(nemo, a.nemo)
        here = os.path.dirname(os.path.abspath(__file__))
        subprocess.run([sys.executable, os.path.join(here, "..", "nemo_to_gguf.py"), nemo, a.out]
                       + (["--f16"] if a.f16 else []), check=True)
    print(json.dumps(ck["state"]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("train", "bench", "export"):
        p = sub.add_parser(name)
        p.add_argument("--work", required=True)
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--frames", type=int, default=16000, help="feature frames per batch (padded)")
        p.add_argument("--bf16", action="store_true", help="bf16 autocast for the forward pass")
    t = sub.choices["train"]
    t.add_argument("--size", default="s", choices=sorted(SIZES))
    t.add_argument("--lr", type=float, default=2e-3)
    t.add_argument("--warmup", type=int, default=1500)
    t.add_argument("--ckpt-minutes", type=float, default=10)
    t.add_argument("--eval-minutes", type=float, default=30)
    t.add_argument("--hours-budget", type=float, default=0, help="stop after this many wall-clock hours")
    b = sub.choices["bench"]
    b.add_argument("--sizes", default="xs,s,m")
    b.add_argument("--steps", type=int, default=4)
    e = sub.choices["export"]
    e.add_argument("--out", required=True)
    e.add_argument("--ckpt", default="last.pt")
    e.add_argument("--nemo", help="also keep the .nemo here")
    e.add_argument("--f16", action="store_true")
    a = ap.parse_args()
    {"train": cmd_train, "bench": cmd_bench, "export": cmd_export}[a.cmd](a)


if __name__ == "__main__":
    main()
