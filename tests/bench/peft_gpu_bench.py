#!/usr/bin/env python3
"""PyTorch + PEFT peer of tests/bench/cuda_llama_step_bench.cpp: one Multi-LoRA training step.

Same model shape (transformers' LlamaForCausalLM from a LlamaConfig, random weights, no download),
bf16, the train defaults' adapters (core/train/train_config.h): a "shared" adapter on k, v, o and a
task adapter "ctr" on q, r 16, alpha 64, dropout 0.1. PEFT makes both active and trainable through
get_peft_model(..., adapter_name="shared") + add_adapter("ctr", ...) + base_model.set_adapter(
["shared", "ctr"]); their targets are disjoint, so every token meets exactly ckf's adapters. The same
batch (B random sequences of T tokens), loss on the last `answers` positions of each sequence with
the LM head run on those rows only (logits_to_keep), torch AdamW (fused on cuda; lr 1e-4, betas
0.9/0.999, eps 1e-8, no weight decay; global-norm clipping at 1.0 as ckf's AdamWCuda step) over the LoRA
parameters. Precision as ckf's: the
frozen weights bf16, the adapters fp32 masters (PEFT's default on a bf16 base) whose GEMMs run in bf16
under torch.autocast.
Step = zero_grad + forward + backward + optimizer step, timed with torch.cuda events after warm-up.
peak_mib = torch.cuda.max_memory_allocated after the steps (the stats reset once the model, adapters
and optimizer exist, so it counts them plus the step's high-water mark; reserved_mib is the caching
allocator's max_memory_reserved); on cpu it is the process's peak RSS.
MFU = step_model_flops (the C++ bench's formula) / step time / the best of 5 rounds of 10 bf16
n^3 torch.matmul.
If the batch does not fit, B is halved until it does and `oom_B=` names the first B that did not.
Usage: peft_gpu_bench.py [--config smollm2-135m|llama-1b|tiny] [--device cuda|cpu] [--B N] [--T N]
       [--answers K] [--steps N] [--warmup N] [--peak-n N]
Prints `gemm ...` and `step impl=peft ...` lines; without torch / transformers / peft on the machine
it prints `step impl=peft ... error=missing_package:NAME` and exits 3.
"""
import argparse
import inspect
import resource
import sys
import time

CONFIGS = {  # the same shapes as cuda_llama_step_bench.cpp's bench_config
    "smollm2-135m": dict(vocab_size=49152, hidden_size=576, num_hidden_layers=30, num_attention_heads=9,
                         num_key_value_heads=3, head_dim=64, intermediate_size=1536, rope_theta=100000.0,
                         max_position_embeddings=8192),
    "llama-1b": dict(vocab_size=128256, hidden_size=2048, num_hidden_layers=16, num_attention_heads=32,
                     num_key_value_heads=8, head_dim=64, intermediate_size=8192, rope_theta=500000.0,
                     max_position_embeddings=131072),
    "tiny": dict(vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                 head_dim=16, intermediate_size=96, rope_theta=10000.0, max_position_embeddings=1024),
}
SHARED = dict(targets=["k_proj", "v_proj", "o_proj"], r=16, alpha=64, dropout=0.1)
TASK = dict(targets=["q_proj"], r=16, alpha=64, dropout=0.1)


def step_model_flops(c, B, T, answers):
    """cuda_llama_step_bench.cpp's step_model_flops: 2*linear + 3*attn + 3*lora + 2*head (see there)."""
    N, M = B * T, B * answers
    C, L, H, KVH = c["hidden_size"], c["num_hidden_layers"], c["num_attention_heads"], c["num_key_value_heads"]
    D, F, V = c["head_dim"], c["intermediate_size"], c["vocab_size"]
    linear = 2 * N * L * (C * H * D + 2 * C * KVH * D + H * D * C + 3 * C * F)
    attn = 2 * L * B * H * D * T * (T + 1)
    in_out = {"q_proj": C + H * D, "k_proj": C + KVH * D, "v_proj": C + KVH * D, "o_proj": H * D + C,
              "gate_proj": C + F, "up_proj": C + F, "down_proj": F + C}
    lora = 2 * N * L * sum(s["r"] * in_out[t] for s in (SHARED, TASK) for t in s["targets"])
    head = 2 * M * C * V
    return 2 * linear + 3 * attn + 3 * lora + 2 * head


def parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--config", choices=sorted(CONFIGS), default="smollm2-135m")
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda")
    p.add_argument("--B", type=int, default=None, help="sequences per step (default 8; tiny: 2)")
    p.add_argument("--T", type=int, default=None, help="tokens per sequence (default 1024; tiny: 32)")
    p.add_argument("--answers", type=int, default=4, help="loss positions at the end of each sequence")
    p.add_argument("--steps", type=int, default=None, help="timed steps (default 5; tiny: 2)")
    p.add_argument("--warmup", type=int, default=None, help="untimed steps first (default 2; tiny: 1)")
    p.add_argument("--peak-n", type=int, default=None, help="GEMM size of the peak (default 8192; tiny: 128)")
    a = p.parse_args()
    tiny = a.config == "tiny"
    for name, big, small in (("B", 8, 2), ("T", 1024, 32), ("steps", 5, 2), ("warmup", 2, 1), ("peak_n", 8192, 128)):
        if getattr(a, name) is None:
            setattr(a, name, small if tiny else big)
    for name, lo in (("B", 1), ("T", 2), ("answers", 1), ("steps", 1), ("warmup", 0), ("peak_n", 16)):
        if getattr(a, name) < lo:
            p.error(f"--{name.replace('_', '-')} must be at least {lo}, got {getattr(a, name)}")
    if a.answers >= a.T:
        p.error(f"--answers {a.answers} must be below --T {a.T}")
    return a


class Timer:
    """Seconds between start() and stop(): CUDA events on cuda, wall clock on cpu."""

    def __init__(self, torch, device):
        self.torch, self.cuda = torch, device == "cuda"

    def start(self):
        if self.cuda:
            self.t0 = self.torch.cuda.Event(enable_timing=True)
            self.t0.record()
        else:
            self.t0 = time.perf_counter()

    def stop(self):
        if not self.cuda:
            return time.perf_counter() - self.t0
        t1 = self.torch.cuda.Event(enable_timing=True)
        t1.record()
        t1.synchronize()
        return self.t0.elapsed_time(t1) * 1e-3


def gemm_peak_tflops(torch, device, n):
    a = torch.rand(n, n, device=device, dtype=torch.bfloat16) * 2 - 1
    b = torch.rand(n, n, device=device, dtype=torch.bfloat16) * 2 - 1
    a @ b.T
    timer, best = Timer(torch, device), 0.0
    for _ in range(5):
        timer.start()
        for _ in range(10):
            a @ b.T
        best = max(best, 10 * 2.0 * n ** 3 / timer.stop() / 1e12)
    return best


def build_model(torch, device, config):
    from peft import LoraConfig, get_peft_model
    from transformers import LlamaConfig, LlamaForCausalLM

    cfg = LlamaConfig(**CONFIGS[config], rms_norm_eps=1e-5, tie_word_embeddings=True, attention_bias=False,
                      mlp_bias=False)
    with torch.device(device):
        model = LlamaForCausalLM(cfg).to(torch.bfloat16)
    def lora(s):
        return LoraConfig(r=s["r"], lora_alpha=s["alpha"], lora_dropout=s["dropout"], target_modules=s["targets"])

    # PEFT keeps adapter weights in fp32 on a bf16 base (autocast_adapter_dtype); ckf too (fp32 masters)
    model = get_peft_model(model, lora(SHARED), adapter_name="shared")
    model.add_adapter("ctr", lora(TASK))
    model.base_model.set_adapter(["shared", "ctr"])  # both active; set_adapter makes them trainable
    model.train()
    return model


def run(torch, a, model, B):
    """Warm-up and timed steps at batch B; returns (seconds per step, last loss)."""
    import torch.nn.functional as F

    V = CONFIGS[a.config]["vocab_size"]
    gen = torch.Generator().manual_seed(7)
    ids = torch.randint(0, V, (B, a.T), generator=gen).to(a.device)
    targets = ids[:, a.T - a.answers:].reshape(-1)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                            fused=a.device == "cuda")

    # The LM head on positions T-answers-1 .. T-1 only (the last one predicts nothing and is dropped);
    # transformers before 4.50 names the argument num_logits_to_keep.
    forward_args = inspect.signature(type(model.get_base_model()).forward).parameters
    keep = next((k for k in ("logits_to_keep", "num_logits_to_keep") if k in forward_args), None)
    if keep is None:
        raise SystemExit("peft_gpu_bench.py: this transformers' LlamaForCausalLM cannot limit the LM head's rows")

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(a.device, dtype=torch.bfloat16):  # bf16 GEMMs for the fp32 adapters, as ckf's bf16 copies
            logits = model(input_ids=ids, **{keep: a.answers + 1}).logits[:, :-1, :]
        loss = F.cross_entropy(logits.float().reshape(-1, V), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)  # ckf's step clips at the global norm too
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    timer = Timer(torch, a.device)
    timer.start()
    for _ in range(a.steps):
        loss = step()
    return timer.stop() / a.steps, float(loss.item())


def main():
    a = parse()
    head = f"step impl=peft config={a.config} B={a.B} T={a.T} answers={a.answers}"
    try:
        import peft  # noqa: F401
        import torch
        import transformers  # noqa: F401
    except ImportError as e:
        print(f"{head} error=missing_package:{e.name}")
        return 3
    if a.device == "cuda" and not torch.cuda.is_available():
        print(f"{head} error=no_cuda_device")
        return 1
    torch.manual_seed(1)
    peak = gemm_peak_tflops(torch, a.device, a.peak_n)
    print(f"gemm n={a.peak_n} peak_tflops={peak:.1f}", flush=True)
    model = build_model(torch, a.device, a.config)
    lora_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    B, oom_B = a.B, None
    while True:
        if a.device == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        try:
            step_s, loss = run(torch, a, model, B)
            break
        except torch.cuda.OutOfMemoryError:
            model.zero_grad(set_to_none=True)
            oom_B = oom_B or B
            if B == 1:
                print(f"{head} error=out_of_memory_at_B=1")
                return 1
            B //= 2
            print(f"out of memory at B={B * 2}, trying B={B}", flush=True)
    if a.device == "cuda":
        peak_mib = torch.cuda.max_memory_allocated() / 2 ** 20
        extra = f" reserved_mib={torch.cuda.max_memory_reserved() / 2 ** 20:.0f} peak_kind=max_memory_allocated"
    else:
        peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        extra = " peak_kind=rss"
    flops = step_model_flops(CONFIGS[a.config], B, a.T, a.answers)
    tflops = flops / step_s / 1e12
    print(f"step impl=peft config={a.config} B={B} T={a.T} answers={a.answers} steps={a.steps} "
          f"tokens_per_s={B * a.T / step_s:.1f} ms_per_step={step_s * 1e3:.2f} peak_mib={peak_mib:.0f}{extra} "
          f"lora_params={lora_params} flops_per_step={flops:.4e} tflops={tflops:.2f} gemm_peak_tflops={peak:.1f} "
          f"mfu={tflops / peak:.4f} loss={loss:.4f}" + (f" oom_B={oom_B}" if oom_B else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
