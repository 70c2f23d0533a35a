#!/usr/bin/env python3
"""Transformer LM speed: sori vs llama.cpp on the same GGUF file, same threads, one run.

Prompt processing: T tokens in each of H sequences, one batch (T x H tokens) through the model,
the logits of each sequence's last token computed (what N-best scoring needs): sori's
`bench_lm pp` (one sori_lm_decode call of H sequences) against llama.cpp through
llama-cpp-python's low-level API (one llama_decode of the same batch: the same tokens, positions
and sequence ids, logits for the same entries). Generation: 32 greedy tokens after an 8-token
prompt, one token per call on both sides (sori's argmax over the vocabulary and llama.cpp's
logits copy into Python are both inside the timed loop; they are small next to a step).
Each side's runs are taken in alternating blocks (the peer, sori, ...) after a quiet-machine
wait; medians with min and max; ratio = llama.cpp time / sori time (> 1: sori faster).
Goals (issue 16): prompt processing >= 1.0x, generation >= 0.9x.

    pip install llama-cpp-python==0.3.36
    python3 bench/bench_lm.py --build build --model data/gemma-3-270m-q4_k_m.gguf [--runs 5] [--blocks 2]
"""
import argparse
import ctypes
import os
import statistics
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import Guard, add_quiet_args, driver_runs, spread  # noqa: E402


def tokens(T, H, n_vocab, bos):
    """The same pseudo-random ids as bench_lm.c (its LCG), BOS first."""
    out, x = [], 12345
    for _ in range(H):
        row = []
        for _ in range(T):
            x = (x * 1664525 + 1013904223) & 0xFFFFFFFF
            row.append(x % n_vocab)
        out.append(row)
    out[0][0] = bos
    return out


class Llama:
    def __init__(self, path, threads, n_ctx, n_seq, n_batch):
        import llama_cpp as L
        self.L = L
        L.llama_backend_init()
        mp = L.llama_model_default_params()
        self.model = L.llama_model_load_from_file(path.encode(), mp)
        cp = L.llama_context_default_params()
        cp.n_ctx = n_ctx * n_seq
        cp.n_batch = n_batch
        cp.n_ubatch = n_batch
        cp.n_seq_max = n_seq
        cp.n_threads = threads
        cp.n_threads_batch = threads
        self.ctx = L.llama_init_from_model(self.model, cp)
        self.vocab = L.llama_model_get_vocab(self.model)
        self.n_vocab = L.llama_vocab_n_tokens(self.vocab)
        self.bos = L.llama_vocab_bos(self.vocab)
        self.batch = L.llama_batch_init(n_batch, 0, n_seq)

    def clear(self):
        self.L.llama_memory_clear(self.L.llama_get_memory(self.ctx), True)

    def decode(self, entries):
        """entries: (token, pos, seq, want_logits)"""
        b = self.batch
        b.n_tokens = len(entries)
        for i, (t, p, s, lg) in enumerate(entries):
            b.token[i] = t
            b.pos[i] = p
            b.n_seq_id[i] = 1
            b.seq_id[i][0] = s
            b.logits[i] = 1 if lg else 0
        if self.L.llama_decode(self.ctx, b) != 0:
            raise RuntimeError("llama_decode failed")

    def last_logits(self):
        p = self.L.llama_get_logits_ith(self.ctx, -1)
        return np.ctypeslib.as_array(ctypes.cast(p, ctypes.POINTER(ctypes.c_float)), shape=(self.n_vocab,))


def llama_pp(ll, T, H, runs):
    toks = tokens(T, H, ll.n_vocab, ll.bos)
    entries = [(toks[h][i], i, h, i == T - 1) for h in range(H) for i in range(T)]
    times = []
    for r in range(runs + 1):
        ll.clear()
        t0 = time.perf_counter()
        ll.decode(entries)
        if r:
            times.append(time.perf_counter() - t0)
    return times


def llama_tg(ll, n, runs):
    toks = tokens(8, 1, ll.n_vocab, ll.bos)[0]
    times = []
    for r in range(runs + 1):
        ll.clear()
        ll.decode([(t, i, 0, i == 7) for i, t in enumerate(toks)])
        t0 = time.perf_counter()
        for g in range(n):
            best = int(np.argmax(ll.last_logits()))
            ll.decode([(best, 8 + g, 0, True)])
        if r:
            times.append(time.perf_counter() - t0)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--model", default="data/gemma-3-270m-q4_k_m.gguf")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--blocks", type=int, default=2)
    ap.add_argument("--shapes", default="16x1,64x1,16x4,16x16,64x16", help="TxH prompt-processing cases")
    ap.add_argument("--gen", type=int, default=32, help="generated tokens per run")
    add_quiet_args(ap)
    a = ap.parse_args()
    guard = Guard(a)
    exe = os.path.join(a.build, "bin", "bench_lm")
    shapes = [tuple(int(v) for v in s.split("x")) for s in a.shapes.split(",")]
    results = []
    for T, H in shapes:
        ll = Llama(a.model, a.threads, T + 16, H, max(T * H, 16))
        peer, sori = [], []
        for blk in range(a.blocks):
            with guard.region(f"llama.cpp pp {T}x{H}, block {blk + 1}"):
                peer += llama_pp(ll, T, H, a.runs)
            with guard.region(f"sori pp {T}x{H}, block {blk + 1}"):
                res = subprocess.run([exe, a.model, "pp", str(T), str(H), str(a.runs), str(a.threads)],
                                     check=True, capture_output=True, text=True)
            sori += driver_runs(res.stdout)
        del ll
        results.append((f"prompt {T:3d} tokens x {H:2d} sequences", T * H, sori, peer))
    ll = Llama(a.model, a.threads, a.gen + 16, 1, 16)
    peer, sori = [], []
    for blk in range(a.blocks):
        with guard.region(f"llama.cpp generation, block {blk + 1}"):
            peer += llama_tg(ll, a.gen, a.runs)
        with guard.region(f"sori generation, block {blk + 1}"):
            res = subprocess.run([exe, a.model, "tg", str(a.gen), str(a.runs), str(a.threads)], check=True,
                                 capture_output=True, text=True)
        sori += driver_runs(res.stdout)
    results.append((f"generation, {a.gen} tokens", a.gen, sori, peer))
    import llama_cpp
    print(guard.load_line())
    print(f"{os.path.basename(a.model)}, {a.threads} threads, llama-cpp-python {llama_cpp.__version__}; "
          f"{a.blocks} alternating blocks of {a.runs} runs each; ratio = llama.cpp time / sori time")
    for what, n_tok, s, p in results:
        ms, mp = statistics.median(s), statistics.median(p)
        print(f"  {what}: sori {spread(s)} ({n_tok / ms:.0f} tok/s)")
        print(f"  {' ' * len(what)}  llama.cpp {spread(p)} ({n_tok / mp:.0f} tok/s)   ratio {mp / ms:.2f}")
    print("  goals: prompt processing >= 1.0, generation >= 0.9")
    sys.exit(guard.report())


if __name__ == "__main__":
    main()
