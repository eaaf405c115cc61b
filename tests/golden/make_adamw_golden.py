"""Writes tests/data/adamw_golden.txt: parameters after each of several torch.optim.AdamW steps.

Format (whitespace-separated, %.9g so float32 values round-trip exactly):
  n steps lr beta1 beta2 eps weight_decay
  initial params (n)
  then per step: grad (n) and params after the step (n)
Run from the repository root: python3 tests/golden/make_adamw_golden.py
"""
import torch

n, steps = 11, 6
lr, beta1, beta2, eps, wd = 1e-2, 0.9, 0.95, 1e-8, 0.1
g = torch.Generator().manual_seed(7)
p = torch.nn.Parameter(torch.rand(n, generator=g, dtype=torch.float32) * 2 - 1)
opt = torch.optim.AdamW([p], lr=lr, betas=(beta1, beta2), eps=eps, weight_decay=wd, foreach=False)
fmt = lambda t: " ".join("%.9g" % x for x in t.tolist())
lines = [f"{n} {steps} {lr!r} {beta1!r} {beta2!r} {eps!r} {wd!r}", fmt(p.detach())]
for _ in range(steps):
    # Gradients spanning several magnitudes so that eps and the bias corrections both matter.
    grad = (torch.rand(n, generator=g) * 2 - 1) * torch.logspace(-6, 1, n)
    p.grad = grad.to(torch.float32)
    opt.step()
    lines += [fmt(p.grad), fmt(p.detach())]
with open("tests/data/adamw_golden.txt", "w") as f:
    f.write("\n".join(lines) + "\n")
print("torch", torch.__version__)
