// AdamW (Loshchilov & Hutter): decoupled weight decay and bias correction, as torch.optim.AdamW.
#pragma once
#include <cstdint>

namespace ckf::cpu {

struct AdamWConfig {
  float lr = 1e-4f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
};

// One update of n parameters; `step` counts from 1 (0 throws). m and v (n) are the moment buffers,
// zero before the first step.
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWConfig& cfg,
                  int64_t step);

}  // namespace ckf::cpu
