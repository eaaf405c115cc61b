#!/usr/bin/env python3
"""Golden logits of the embedded SmolLM2-135M-Instruct (Q4_1 GGUF) under transformers, for
tests/unit/llama_smollm2_golden_test.cpp, under tests/data/smollm2/.

The reference dequantises the same GGUF with transformers' own loader (load_gguf_checkpoint) into
LlamaForCausalLM in float32 and runs a plain forward (no cache), so the C++ model and this one see
identical weights. Token ids come from transformers' tokenizer built from the same GGUF.

  logits.json  {"vocab": V, "prompts": [{"text", "ids", "positions"}]}: the positions whose full
               next-token logits are stored, in order.
  logits.f32   those rows, (sum of len(positions), V) little-endian float32 (~0.8 MB).
"""
import json
import os
import sys

import numpy as np
import torch
from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM
from transformers.modeling_gguf_pytorch_utils import load_gguf_checkpoint

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "data", "smollm2")
MODEL = os.environ.get("CKF_MODEL_GGUF", os.path.expanduser("~/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf"))

# (text, positions): the last position of each, and the first of one (attention over one token).
PROMPTS = [("The capital of France is", [-1]),
           ("<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", [0, -1]),
           ("Once upon a time, in a small village nestled between rolling hills, there lived an old"
            " clockmaker named Elias who", [-1])]


def main():
    if not os.path.exists(MODEL):
        sys.exit(f"model {MODEL} missing")
    torch.set_grad_enabled(False)
    meta = load_gguf_checkpoint(MODEL, return_tensors=False)["config"]
    cfg = LlamaConfig(**{k: v for k, v in meta.items() if not k.startswith("_")})
    model = LlamaForCausalLM(cfg).float().eval()
    sd = load_gguf_checkpoint(MODEL, return_tensors=True, model_to_load=model)["tensors"]
    sd = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)) for k, v in sd.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and set(missing) <= {"lm_head.weight"}, (missing, unexpected)
    model.tie_weights()
    tok = AutoTokenizer.from_pretrained(os.path.dirname(MODEL), gguf_file=os.path.basename(MODEL))
    rows, prompts = [], []
    for text, positions in PROMPTS:
        ids = tok(text, add_special_tokens=True)["input_ids"]
        logits = model(torch.tensor([ids])).logits[0].float().numpy()
        pos = [p % len(ids) for p in positions]
        rows += [logits[p] for p in pos]
        prompts.append({"text": text, "ids": ids, "positions": pos})
        print(text[:40], "->", tok.decode([int(logits[-1].argmax())]), file=sys.stderr)
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "logits.json"), "w") as f:
        json.dump({"vocab": int(rows[0].shape[0]), "prompts": prompts}, f, indent=1)
    np.stack(rows).astype("<f4").tofile(os.path.join(OUT, "logits.f32"))


if __name__ == "__main__":
    main()
