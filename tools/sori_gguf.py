#!/usr/bin/env python3
"""Write and inspect sori model files (GGUF v3) from Python.

The converters in tools/ build on `write_model`; the C side reads the files
with kernels/gguf.c. Conventions (docs/model-format.md):
  - `general.architecture` names the model family ("sori.conformer", ...);
    its hyper-parameters live under "<architecture>.<key>".
  - tensor shapes are given as numpy shapes (outermost first); GGUF stores
    them innermost first, so a PyTorch Linear weight [out, in] has
    ne = [in, out] in the file.

    python3 tools/sori_gguf.py inspect MODEL.gguf
    python3 tools/sori_gguf.py fixture OUT.gguf   # the C interop test's fixture

Requires tools/requirements-gguf.txt.
"""
import sys

import numpy as np
import gguf


def write_model(path, arch, metadata, tensors, f16=False, alignment=None):
    """metadata: {key: value}; keys without a dot get the "<arch>." prefix.
    Values: bool, int (u32 if it fits, else i64), float (f32), str, or a list
    (of str, int or float). tensors: {name: np.ndarray}. With f16, float
    tensors of two or more dimensions are stored as f16 (norms and biases
    stay f32)."""
    w = gguf.GGUFWriter(path, arch)
    if alignment is not None:
        w.add_custom_alignment(alignment)
    for key, value in metadata.items():
        if "." not in key:
            key = f"{arch}.{key}"
        if isinstance(value, bool):
            w.add_bool(key, value)
        elif isinstance(value, int):
            if 0 <= value < 2**32:
                w.add_uint32(key, value)
            else:
                w.add_int64(key, value)
        elif isinstance(value, float):
            w.add_float32(key, value)
        elif isinstance(value, str):
            w.add_string(key, value)
        elif isinstance(value, (list, tuple)):
            w.add_array(key, list(value))
        else:
            raise TypeError(f"metadata {key}: unsupported type {type(value).__name__}")
    for name, array in tensors.items():
        a = np.ascontiguousarray(array)
        if a.dtype == np.float64:
            a = a.astype(np.float32)
        if f16 and a.dtype == np.float32 and a.ndim >= 2:
            a = a.astype(np.float16)
        w.add_tensor(name, a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def inspect(path):
    r = gguf.GGUFReader(path)
    for field in r.fields.values():
        if field.name.startswith("GGUF."):
            continue
        value = field.contents() if hasattr(field, "contents") else field.parts[-1]
        text = repr(value)
        print(f"{field.name} = {text[:100]}{'...' if len(text) > 100 else ''}")
    for t in r.tensors:
        print(f"tensor {t.name} {t.tensor_type.name} ne={list(t.shape)} bytes={t.n_bytes}")


def fixture(path):
    """The file tests/test_gguf_python.c expects, value for value."""
    write_model(
        path,
        "sori.test",
        {
            "n_layers": 3,
            "eps": 1e-5,
            "causal": True,
            "offset": -7,
            "labels": ["<blank>", "가", "나", "▁다"],
            "window": [0.5, 1.0, 0.25],
            "general.name": "python writer fixture",
        },
        {
            "enc.w": np.arange(15, dtype=np.float32).reshape(3, 5) / 4,
            "enc.h": np.array([1.0, -2.0, 0.5, 65504.0], dtype=np.float16),
            "enc.ids": np.array([1, -2, 3], dtype=np.int32),
        },
    )


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "inspect":
        inspect(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "fixture":
        fixture(sys.argv[2])
    else:
        sys.exit(__doc__)
