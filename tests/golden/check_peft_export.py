#!/usr/bin/env python3
"""Checks a `ckf export --format peft` directory with Hugging Face PEFT (test time only).

Builds a random LlamaForCausalLM with the decoder's shapes (the base weights do not matter: the
check is that PEFT applies exactly the delta ckf meant), loads the adapter with
PeftModel.from_pretrained, and checks:
  - every tensor of adapter_model.safetensors was loaded into a LoRA module (none missing, none
    unexpected), with PEFT's per-module scale alpha/r equal to 1 (ckf folds the scales into B);
  - PEFT's logits equal those of the base model with W += B A merged by hand, within 1e-4.
ckf's unit test tests/unit/peft_export_test.cpp checks that B A equals the Multi-LoRA delta.
Exits 0 and prints SKIP when peft is not installed.

usage: check_peft_export.py ADAPTER_DIR --vocab V --hidden C --layers L --heads H --kv-heads KVH
                            --head-dim D --ffn F
"""
import argparse
import copy
import sys

try:
    import peft
    import torch
    from safetensors.torch import load_file
    from transformers import LlamaConfig, LlamaForCausalLM
except ImportError as e:  # optional test-time dependency
    print(f"SKIP: {e}")
    sys.exit(0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("adapter")
    for k in ("vocab", "hidden", "layers", "heads", "kv-heads", "head-dim", "ffn"):
        ap.add_argument("--" + k, type=int, required=True)
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=a.vocab, hidden_size=a.hidden, num_hidden_layers=a.layers,
                      num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, head_dim=a.head_dim,
                      intermediate_size=a.ffn, max_position_embeddings=64)
    base = LlamaForCausalLM(cfg).float().eval()
    merged = copy.deepcopy(base)
    plain = copy.deepcopy(base)
    tensors = load_file(f"{a.adapter}/adapter_model.safetensors")
    prefix = "base_model.model."
    modules = sorted({k[len(prefix):k.index(".lora_")] for k in tensors})
    assert len(tensors) == 2 * len(modules), "every module needs lora_A and lora_B"
    with torch.no_grad():
        for m in modules:
            A, B = tensors[f"{prefix}{m}.lora_A.weight"], tensors[f"{prefix}{m}.lora_B.weight"]
            merged.get_submodule(m).weight += B @ A

    model = peft.PeftModel.from_pretrained(base, a.adapter).eval()
    loaded = 0
    for m in modules:
        lm = model.base_model.model.get_submodule(m)
        assert isinstance(lm, peft.tuners.lora.LoraLayer), f"{m}: not a LoRA layer in PEFT"
        assert abs(lm.scaling["default"] - 1.0) < 1e-12, f"{m}: PEFT scale {lm.scaling['default']}, expected 1"
        A, B = tensors[f"{prefix}{m}.lora_A.weight"], tensors[f"{prefix}{m}.lora_B.weight"]
        assert torch.equal(lm.lora_A["default"].weight, A), f"{m}: lora_A not loaded"
        assert torch.equal(lm.lora_B["default"].weight, B), f"{m}: lora_B not loaded"
        loaded += 1
    n_lora = sum(1 for _, x in model.named_modules() if isinstance(x, peft.tuners.lora.LoraLayer))
    assert n_lora == len(modules), f"PEFT made {n_lora} LoRA modules, the file has {len(modules)}"

    ids = torch.randint(0, a.vocab, (2, 9))
    with torch.no_grad():
        got = model(input_ids=ids).logits
        want = merged(input_ids=ids).logits
        effect = (got - plain(input_ids=ids).logits).abs().max().item()
    err = (got - want).abs().max().item()
    print(f"{loaded} modules; max |PEFT - merged| logits {err:.3g}")
    assert err < 1e-4, f"PEFT logits differ from the merged model by {err}"
    print(f"adapter effect on logits (max |PEFT - base|) {effect:.3g}")
    print("OK")


if __name__ == "__main__":
    main()
