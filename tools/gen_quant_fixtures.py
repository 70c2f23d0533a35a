#!/usr/bin/env python3
"""Fixtures of tests/test_quant.c: random blocks of each GGUF weight type sori computes with, and
their values as llama.cpp's own Python package (gguf-py, `gguf.quants.dequantize`) reads them.

    python3 tools/gen_quant_fixtures.py --out tests/fixtures/quant

For each type T (q4_0, q5_0, q8_0, q4_K, q5_K, q6_K, bf16, f16) it writes T.raw (the bytes of 4 rows of
512 values) and T.f32 (the 2048 values, little-endian f32). The blocks' bytes are random except the
f16 scales, which are drawn as finite values of a realistic size, so every bit pattern of the
quants, 6-bit scales and high bits occurs. Needs gguf and numpy (tools/requirements-gguf.txt).
"""
import argparse
import os

import numpy as np
from gguf import GGMLQuantizationType as Q
from gguf import quants

ROWS, COLS = 4, 512

# name, type, block values, block bytes, offsets of f16 scales in a block
TYPES = [
    ("q4_0", Q.Q4_0, 32, 18, [0]),
    ("q5_0", Q.Q5_0, 32, 22, [0]),
    ("q8_0", Q.Q8_0, 32, 34, [0]),
    ("q4_K", Q.Q4_K, 256, 144, [0, 2]),
    ("q5_K", Q.Q5_K, 256, 176, [0, 2]),
    ("q6_K", Q.Q6_K, 256, 210, [208]),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rng = np.random.default_rng(16)
    for name, qt, blk, nbytes, scales in TYPES:
        n_blocks = ROWS * COLS // blk
        raw = rng.integers(0, 256, size=(n_blocks, nbytes), dtype=np.uint8)
        for off in scales:
            d = (rng.uniform(0.2, 2.0, n_blocks) * 1e-3).astype(np.float16)
            raw[:, off:off + 2] = d.view(np.uint8).reshape(n_blocks, 2)
        raw = raw.reshape(ROWS, -1)
        vals = quants.dequantize(raw, qt).astype(np.float32).reshape(-1)
        raw.tofile(os.path.join(a.out, f"{name}.raw"))
        vals.tofile(os.path.join(a.out, f"{name}.f32"))
    x = rng.standard_normal(ROWS * COLS).astype(np.float32)
    for name, dt in (("f16", np.float16), ("bf16", None)):
        if dt is None:  # bf16: the top half of each f32, rounded to nearest even as gguf-py does
            raw = quants.quantize(x.reshape(ROWS, COLS), Q.BF16)
            vals = quants.dequantize(raw, Q.BF16)
        else:
            raw = x.astype(dt)
            vals = raw.astype(np.float32)
        np.asarray(raw).tofile(os.path.join(a.out, f"{name}.raw"))
        np.asarray(vals, dtype=np.float32).tofile(os.path.join(a.out, f"{name}.f32"))
    print(f"wrote {len(TYPES) + 2} types to {a.out}")


if __name__ == "__main__":
    main()
