#!/usr/bin/env python3
"""Golden fixtures for io/llama_gguf (GGUF -> Hugging Face names and layout), under tests/data/gguf/.
The reference is transformers' own GGUF loader (load_gguf_checkpoint with a LlamaForCausalLM to map
names), which undoes llama.cpp's q/k row permutation.

  tiny_llama.gguf      a random 2-layer LLaMA (d=32, 4 heads, 2 kv heads, head_dim 8, ffn 64,
                       vocab 40, untied lm_head) converted as llama.cpp's converter does:
                       GGUF names, q/k rows permuted per head, mixed tensor types.
  tiny_llama.hf.txt    one line per HF tensor, sorted by name: name and shape.
  tiny_llama.hf.f32    those tensors as transformers loads them, concatenated, little-endian f32.
  smollm2_hf_rows.f32  rows of the embedded SmolLM2-135M in HF layout (SMOLLM2_ROWS below), only
                       when the model file exists.
"""
import os
import sys
import zlib

import numpy as np
import torch
import gguf
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "gguf")
MODEL = os.environ.get("CKF_MODEL_GGUF", os.path.expanduser("~/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf"))
torch.manual_seed(7)

# HF suffix -> (GGUF suffix, ggml type); a mix of types exercises the dequantisers through the mapping.
LAYER = {"self_attn.q_proj.weight": ("attn_q.weight", T.Q8_0), "self_attn.k_proj.weight": ("attn_k.weight", T.Q4_1),
         "self_attn.v_proj.weight": ("attn_v.weight", T.Q4_0), "self_attn.o_proj.weight": ("attn_output.weight", T.F16),
         "mlp.gate_proj.weight": ("ffn_gate.weight", T.Q8_0), "mlp.up_proj.weight": ("ffn_up.weight", T.BF16),
         "mlp.down_proj.weight": ("ffn_down.weight", T.F32), "input_layernorm.weight": ("attn_norm.weight", T.F32),
         "post_attention_layernorm.weight": ("ffn_norm.weight", T.F32)}
GLOBAL = {"model.embed_tokens.weight": ("token_embd.weight", T.F16), "model.norm.weight": ("output_norm.weight", T.F32),
          "lm_head.weight": ("output.weight", T.Q8_0)}


def llama_cpp_permute(w, n_head):
    """The row order llama.cpp's convert_hf_to_gguf.py writes q/k in: each head's two rotary halves
    interleaved (row h*hd + 2*i + j holds HF row h*hd + j*hd/2 + i)."""
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_tiny():
    cfg = LlamaConfig(vocab_size=40, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                      intermediate_size=64, rms_norm_eps=1e-5, rope_theta=50000.0, tie_word_embeddings=False)
    model = LlamaForCausalLM(cfg)
    sd = {k: v.detach().float().numpy() for k, v in model.state_dict().items()}
    for k in sd:  # norms default to ones; make every tensor random
        sd[k] = np.random.default_rng(zlib.crc32(k.encode())).standard_normal(sd[k].shape).astype(np.float32) * 0.5
    path = os.path.join(OUT, "tiny_llama.gguf")
    w = gguf.GGUFWriter(path, "llama")
    w.add_uint32("llama.vocab_size", 40)
    w.add_uint32("llama.embedding_length", 32)
    w.add_uint32("llama.block_count", 2)
    w.add_uint32("llama.attention.head_count", 4)
    w.add_uint32("llama.attention.head_count_kv", 2)
    w.add_uint32("llama.feed_forward_length", 64)
    w.add_uint32("llama.context_length", 128)
    w.add_float32("llama.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32("llama.rope.freq_base", 50000.0)
    for hf, x in sd.items():
        if hf.startswith("model.layers."):
            layer, suffix = hf[len("model.layers."):].split(".", 1)
            name, qtype = LAYER[suffix]
            name = f"blk.{layer}.{name}"
        else:
            name, qtype = GLOBAL[hf]
        if suffix_is(hf, "q_proj"):
            x = llama_cpp_permute(x, 4)
        if suffix_is(hf, "k_proj"):
            x = llama_cpp_permute(x, 2)
        data = quantize(x, qtype)
        w.add_tensor(name, data, raw_dtype=qtype if x.ndim == 2 else None)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

    ref = load_gguf_checkpoint(path, return_tensors=True, model_to_load=LlamaForCausalLM(cfg))["tensors"]
    names = sorted(ref)
    assert set(names) == set(sd), set(names) ^ set(sd)
    for n in names:  # the reference undid the permutation: it is the original up to quantisation error
        err = np.abs(np.asarray(ref[n], dtype=np.float32) - sd[n]).max()
        assert err < 0.25, (n, err)
    with open(os.path.join(OUT, "tiny_llama.hf.txt"), "w") as f:
        for n in names:
            f.write(n + " " + " ".join(str(d) for d in np.asarray(ref[n]).shape) + "\n")
    np.concatenate([np.asarray(ref[n], dtype="<f4").reshape(-1) for n in names]).tofile(os.path.join(OUT, "tiny_llama.hf.f32"))


def suffix_is(hf, proj):
    return hf.endswith(f"self_attn.{proj}.weight")


# (HF name, rows) of the real model; q/k rows cross head and rotary-half boundaries (head_dim 64).
SMOLLM2_ROWS = [("model.layers.0.self_attn.q_proj.weight", [0, 1, 31, 32, 63, 64, 575]),
                ("model.layers.5.self_attn.k_proj.weight", [0, 32, 100, 191]),
                ("model.layers.29.mlp.up_proj.weight", [7])]


def write_smollm2_rows():
    meta = load_gguf_checkpoint(MODEL, return_tensors=False)["config"]
    cfg = LlamaConfig(**{k: v for k, v in meta.items() if not k.startswith("_")})
    ref = load_gguf_checkpoint(MODEL, return_tensors=True, model_to_load=LlamaForCausalLM(cfg))["tensors"]
    rows = [np.asarray(ref[n], dtype="<f4")[i] for n, idx in SMOLLM2_ROWS for i in idx]
    np.concatenate(rows).tofile(os.path.join(OUT, "smollm2_hf_rows.f32"))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    write_tiny()
    if os.path.exists(MODEL):
        write_smollm2_rows()
    else:
        print(f"model {MODEL} missing: smollm2_hf_rows.f32 not written", file=sys.stderr)
