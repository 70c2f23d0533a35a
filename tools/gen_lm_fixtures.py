#!/usr/bin/env python3
"""Fixtures of tests/test_lm.c: tiny random-weight transformer LMs of each architecture sori reads
(gemma3, llama, qwen2, qwen3), built in Hugging Face transformers (the reference implementation),
every parameter randomized, written as GGUF files the way llama.cpp's convert_hf_to_gguf.py writes
them (its key and tensor names; llama's q/k rows permuted for its pairwise RoPE; Gemma's norm
weights stored as 1 + w), with the logits transformers computes in f32 for a token sequence.

    pip install -r tools/requirements-reference.txt     # torch, transformers, gguf
    python3 tools/gen_lm_fixtures.py --out tests/fixtures/lm

For each ARCH and weight type T (f32, q8_0, q5_0): ARCH.T.gguf (the model, its matrices in T as
gguf-py quantizes them; norms and biases stay f32) and ARCH.T.logits (little-endian: int32
n_tokens, int32 n_vocab, the n_tokens token ids as int32, then n_tokens x n_vocab f32 logits,
position by position) that transformers computes in f32 with the matrices as the file holds them
(quantized, then dequantized by gguf-py): what is left is the engine's own error.
The vocabulary is a SentencePiece-style one of 260 tokens (<pad> <eos> <bos> <unk> and the 256
byte tokens): enough for the loader; the test feeds token ids.
"""
import argparse
import os
import struct

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFWriter, quants

VOCAB = 260
SEQ = 24


def vocab_arrays():
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"<0x{b:02X}>" for b in range(256)]
    scores = [0.0] * 4 + [0.0] * 256
    types = [3, 3, 3, 2] + [6] * 256
    return tokens, scores, types


def build(arch, seed):
    torch.manual_seed(seed)
    common = dict(vocab_size=VOCAB, hidden_size=32, intermediate_size=64, num_attention_heads=4,
                  num_key_value_heads=2, max_position_embeddings=256, rms_norm_eps=1e-6,
                  tie_word_embeddings=False, attn_implementation="eager")
    if arch == "gemma3":
        from transformers import Gemma3ForCausalLM, Gemma3TextConfig
        # 7 layers: five sliding-window ones, a global one, a sliding one; a window of 5 so a
        # sequence of 24 tokens feels it; query scaling 1/sqrt(head_dim) as llama.cpp assumes
        cfg = Gemma3TextConfig(**dict(common, num_hidden_layers=7, head_dim=16, query_pre_attn_scalar=16,
                                      sliding_window=5, tie_word_embeddings=True,
                                      rope_parameters={"sliding_attention": {"rope_type": "default",
                                                                             "rope_theta": 10000.0},
                                                       "full_attention": {"rope_type": "default",
                                                                          "rope_theta": 1000000.0}}))
        m = Gemma3ForCausalLM(cfg)
    elif arch == "llama":
        from transformers import LlamaConfig, LlamaForCausalLM
        cfg = LlamaConfig(**dict(common, num_hidden_layers=2, rope_parameters={"rope_type": "default",
                                                                               "rope_theta": 500000.0}))
        m = LlamaForCausalLM(cfg)
    elif arch == "qwen2":
        from transformers import Qwen2Config, Qwen2ForCausalLM
        cfg = Qwen2Config(**dict(common, num_hidden_layers=2, rope_parameters={"rope_type": "default",
                                                                               "rope_theta": 1000000.0}))
        m = Qwen2ForCausalLM(cfg)
    else:
        from transformers import Qwen3Config, Qwen3ForCausalLM
        cfg = Qwen3Config(**dict(common, num_hidden_layers=2, head_dim=16,
                                 rope_parameters={"rope_type": "default", "rope_theta": 1000000.0}))
        m = Qwen3ForCausalLM(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "norm" in name:
                # Gemma's norms multiply by (1 + w): keep the factor near 1 either way
                p.copy_(torch.randn_like(p) * 0.1 + (0.0 if arch == "gemma3" else 1.0))
            elif "embed" in name:
                p.copy_(torch.randn_like(p) * 0.5)
            else:
                p.copy_(torch.randn_like(p) / p.shape[-1] ** 0.5)
    m.eval()
    return m, cfg


def permute_llama(w, n_head):
    """convert_hf_to_gguf's permutation of llama q/k rows: halves of each head's rows (the HF rotary
    convention) interleaved into pairs (ggml's normal RoPE)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


MATRIX = ("proj.weight", "embed_tokens.weight", "lm_head.weight")


def quantized_copy(m, qtype):
    """The model with every matrix replaced by its value after a trip through qtype."""
    import copy
    q = copy.deepcopy(m)
    with torch.no_grad():
        for name, p in q.named_parameters():
            if name.endswith(MATRIX):
                a = p.detach().float().numpy().astype(np.float32)
                p.copy_(torch.from_numpy(quants.dequantize(quants.quantize(a, qtype), qtype).reshape(a.shape)))
    return q


def write_gguf(path, arch, m, cfg, qtype):
    w = GGUFWriter(path, arch)
    w.add_name(f"sori test {arch}")
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
    w.add_key_length(head_dim)
    w.add_value_length(head_dim)
    rp = cfg.rope_parameters
    theta = rp["full_attention"]["rope_theta"] if arch == "gemma3" else rp["rope_theta"]
    w.add_rope_freq_base(theta)
    if arch == "gemma3":
        w.add_sliding_window(cfg.sliding_window)
    tokens, scores, types = vocab_arrays()
    w.add_tokenizer_model("llama")
    w.add_token_list(tokens)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(2)
    w.add_eos_token_id(1)
    w.add_unk_token_id(3)
    w.add_add_bos_token(True)
    w.add_add_space_prefix(False)

    def put(name, t, matrix):
        a = t.detach().float().numpy().astype(np.float32)
        if matrix and qtype is not None:
            q = quants.quantize(a, qtype)
            w.add_tensor(name, q, raw_shape=q.shape, raw_dtype=qtype)
        else:
            w.add_tensor(name, a)

    sd = m.state_dict()
    gemma = arch == "gemma3"

    def norm(t):
        return t + 1 if gemma else t

    put("token_embd.weight", sd["model.embed_tokens.weight"], True)
    if not gemma:
        put("output.weight", sd["lm_head.weight"], True)
    put("output_norm.weight", norm(sd["model.norm.weight"]), False)
    nh, nkv = cfg.num_attention_heads, cfg.num_key_value_heads
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        q, k = sd[p + "self_attn.q_proj.weight"], sd[p + "self_attn.k_proj.weight"]
        if arch == "llama":
            q, k = permute_llama(q, nh), permute_llama(k, nkv)
        put(f"blk.{i}.attn_norm.weight", norm(sd[p + "input_layernorm.weight"]), False)
        put(f"blk.{i}.attn_q.weight", q, True)
        put(f"blk.{i}.attn_k.weight", k, True)
        put(f"blk.{i}.attn_v.weight", sd[p + "self_attn.v_proj.weight"], True)
        put(f"blk.{i}.attn_output.weight", sd[p + "self_attn.o_proj.weight"], True)
        if arch == "qwen2":
            for x in "qkv":
                put(f"blk.{i}.attn_{x}.bias", sd[p + f"self_attn.{x}_proj.bias"], False)
        if arch in ("qwen3", "gemma3"):
            put(f"blk.{i}.attn_q_norm.weight", norm(sd[p + "self_attn.q_norm.weight"]), False)
            put(f"blk.{i}.attn_k_norm.weight", norm(sd[p + "self_attn.k_norm.weight"]), False)
        if gemma:
            put(f"blk.{i}.post_attention_norm.weight", norm(sd[p + "post_attention_layernorm.weight"]), False)
            put(f"blk.{i}.ffn_norm.weight", norm(sd[p + "pre_feedforward_layernorm.weight"]), False)
            put(f"blk.{i}.post_ffw_norm.weight", norm(sd[p + "post_feedforward_layernorm.weight"]), False)
        else:
            put(f"blk.{i}.ffn_norm.weight", sd[p + "post_attention_layernorm.weight"], False)
        put(f"blk.{i}.ffn_gate.weight", sd[p + "mlp.gate_proj.weight"], True)
        put(f"blk.{i}.ffn_up.weight", sd[p + "mlp.up_proj.weight"], True)
        put(f"blk.{i}.ffn_down.weight", sd[p + "mlp.down_proj.weight"], True)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for seed, arch in enumerate(["gemma3", "llama", "qwen2", "qwen3"]):
        m, cfg = build(arch, 100 + seed)
        g = torch.Generator().manual_seed(7 + seed)
        ids = torch.cat([torch.tensor([2]), torch.randint(4, VOCAB, (SEQ - 1,), generator=g)])
        for tname, qtype in (("f32", None), ("q8_0", GGMLQuantizationType.Q8_0),
                             ("q5_0", GGMLQuantizationType.Q5_0)):
            write_gguf(os.path.join(a.out, f"{arch}.{tname}.gguf"), arch, m, cfg, qtype)
            ref = m if qtype is None else quantized_copy(m, qtype)
            with torch.no_grad():
                logits = ref(ids[None]).logits[0].float().numpy()
            with open(os.path.join(a.out, f"{arch}.{tname}.logits"), "wb") as f:
                f.write(struct.pack("<ii", SEQ, VOCAB))
                f.write(ids.numpy().astype("<i4").tobytes())
                f.write(logits.astype("<f4").tobytes())
            print(f"{arch} {tname}: {sum(p.numel() for p in m.parameters())} parameters, logits |max| "
                  f"{np.abs(logits).max():.2f}")


if __name__ == "__main__":
    main()
