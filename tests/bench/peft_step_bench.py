#!/usr/bin/env python3
"""PyTorch + PEFT peer of tests/bench/lora_step_bench.cpp: the same model (the embedded SmolLM2-135M
GGUF, dequantised to float32 by transformers' GGUF loader), the same adapters (q, k, v, o; r 16,
alpha 64, dropout 0.1 -- Multi-LoRA's shared k, v, o + task q for one task is this one adapter set),
the same batch (B random sequences of T tokens, loss on every next token), forward + backward, no
optimizer, on CPU in float32 with the given thread count. Needs `pip install peft` (test time only).
Usage: peft_step_bench.py [model.gguf] [steps=3] [threads=2] [B=8] [T=256]
"""
import os
import resource
import sys
import time

import torch
from peft import LoraConfig, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

DEFAULT = os.path.expanduser("~/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf")


def main():
    a = sys.argv[1:]
    path = a[0] if len(a) > 0 else os.environ.get("CKF_MODEL_GGUF", DEFAULT)
    steps = int(a[1]) if len(a) > 1 else 3
    threads = int(a[2]) if len(a) > 2 else 2
    B = int(a[3]) if len(a) > 3 else 8
    T = int(a[4]) if len(a) > 4 else 256
    torch.set_num_threads(threads)
    t_load = time.perf_counter()
    meta = load_gguf_checkpoint(path, return_tensors=False)["config"]
    cfg = LlamaConfig(**{k: v for k, v in meta.items() if not k.startswith("_")})
    model = LlamaForCausalLM(cfg).float()
    sd = load_gguf_checkpoint(path, return_tensors=True, model_to_load=model)["tensors"]
    model.load_state_dict({k: torch.as_tensor(v).float() for k, v in sd.items()}, strict=False)
    model.tie_weights()
    model = get_peft_model(model, LoraConfig(r=16, lora_alpha=64, lora_dropout=0.1,
                                             target_modules=["q_proj", "k_proj", "v_proj", "o_proj"]))
    model.train()
    load_s = time.perf_counter() - t_load
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, cfg.vocab_size, (B, T), generator=gen)
    total = 0.0
    for s in range(steps + 1):  # step 0 warms up
        t0 = time.perf_counter()
        model.zero_grad(set_to_none=False)
        loss = model(input_ids=ids, labels=ids).loss
        loss.backward()
        dt = time.perf_counter() - t0
        if s > 0:
            total += dt
        print(f"step {s}: loss {loss.item():.4f}, {dt:.2f} s{' (warm-up)' if s == 0 else ''}", flush=True)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"RESULT peft threads={threads} B={B} T={T} load_s={load_s:.1f} tokens_per_s={B * T * steps / total:.1f} "
          f"peak_rss_mb={peak:.0f}")


if __name__ == "__main__":
    main()
