"""Golden file for tests/unit/llama_golden_test.cpp: a tiny random Hugging Face LlamaForCausalLM
(GQA, untied head, head_dim != d_model / n_heads) and its logits, computed in float64 by
transformers. Run from the repository root: python3 tests/golden/make_llama_golden.py

Writes tests/data/llama_tiny_golden.txt (one line per tensor: name, ndim, dims; the config on the
first line) and tests/data/llama_tiny_golden.bin (the tensors in that order, little-endian f32).
"""
import numpy as np
import torch
from transformers import LlamaConfig, LlamaForCausalLM

torch.manual_seed(7)
cfg = LlamaConfig(vocab_size=37, hidden_size=24, num_hidden_layers=2, num_attention_heads=4,
                  num_key_value_heads=2, head_dim=10, intermediate_size=40, rms_norm_eps=1e-5,
                  rope_parameters={"rope_type": "default", "rope_theta": 500.0}, tie_word_embeddings=False, max_position_embeddings=16,
                  attention_bias=False, mlp_bias=False)
model = LlamaForCausalLM(cfg).double().eval()
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" in name:
            p.uniform_(0.8, 1.2)
        else:
            p.uniform_(-0.3, 0.3)
tokens = torch.tensor([[3, 17, 0, 36, 8, 8, 21, 5, 30]])
with torch.no_grad():
    logits = model(input_ids=tokens).logits[0]  # (T, V)

entries = [(n, p.detach()) for n, p in model.state_dict().items()]
entries.append(("tokens", tokens[0].double()))
entries.append(("logits", logits))
with open("tests/data/llama_tiny_golden.txt", "w") as txt, open("tests/data/llama_tiny_golden.bin", "wb") as binf:
    txt.write(f"config vocab={cfg.vocab_size} d_model={cfg.hidden_size} n_layers={cfg.num_hidden_layers} "
              f"n_heads={cfg.num_attention_heads} n_kv_heads={cfg.num_key_value_heads} head_dim={cfg.head_dim} "
              f"ffn={cfg.intermediate_size} rms_eps={cfg.rms_norm_eps} rope_theta={cfg.rope_parameters['rope_theta']}\n")
    for name, t in entries:
        txt.write(f"{name} {t.dim()} {' '.join(str(d) for d in t.shape)}\n")
        binf.write(t.numpy().astype("<f4").tobytes())
