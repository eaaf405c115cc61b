// RMSNorm as in LLaMA: out = inp / sqrt(mean(inp^2) + eps) * weight.
#pragma once

namespace ckf::cpu {

// out (N, C), rstd (N) saved for backward, inp (N, C), weight (C).
void rmsnorm_forward(float* out, float* rstd, const float* inp, const float* weight, int N, int C, float eps);

// dinp (N, C) += ...; dweight (C) += ... when non-null.
void rmsnorm_backward(float* dinp, float* dweight, const float* dout, const float* inp, const float* weight,
                      const float* rstd, int N, int C);

}  // namespace ckf::cpu
