#!/usr/bin/env python3
"""Golden Hugging Face model directories for io/hf_model_dir, under tests/data/hf/: tiny random
LlamaForCausalLM models written by transformers' save_pretrained (safetensors).

  f32/          float32, untied lm_head, one model.safetensors
  bf16_sharded/ bfloat16, tied embeddings, sharded with model.safetensors.index.json
  f16/          float16, tied embeddings, one file
Each directory also holds expected.txt (one line per saved tensor, sorted: name and shape) and
expected.f32 (those tensors from the in-memory model, converted to f32, concatenated little-endian).
"""
import os
import shutil

import numpy as np
import torch
from safetensors import safe_open
from transformers import LlamaConfig, LlamaForCausalLM

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "hf")


def write(name, dtype, tied, seed, **save_kwargs):
    torch.manual_seed(seed)
    cfg = LlamaConfig(vocab_size=32, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=24, rms_norm_eps=1e-5, rope_theta=20000.0, tie_word_embeddings=tied,
                      max_position_embeddings=64)
    model = LlamaForCausalLM(cfg)
    with torch.no_grad():  # norms start at ones and some weights at zero: make every tensor random
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.5)
    model = model.to(dtype)
    d = os.path.join(OUT, name)
    shutil.rmtree(d, ignore_errors=True)
    model.save_pretrained(d, safe_serialization=True, **save_kwargs)
    saved = set()
    for f in os.listdir(d):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), "np" if dtype == torch.float32 else "pt") as st:
                saved |= set(st.keys())
    sd = model.state_dict()
    names = sorted(saved)
    with open(os.path.join(d, "expected.txt"), "w") as f:
        for n in names:
            f.write(n + " " + " ".join(str(s) for s in sd[n].shape) + "\n")
    np.concatenate([sd[n].float().numpy().astype("<f4").reshape(-1) for n in names]).tofile(os.path.join(d, "expected.f32"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write("f32", torch.float32, tied=False, seed=1)
    write("bf16_sharded", torch.bfloat16, tied=True, seed=2, max_shard_size="4KB")
    write("f16", torch.float16, tied=True, seed=3)
