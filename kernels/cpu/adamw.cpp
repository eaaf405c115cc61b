#include "kernels/cpu/adamw.h"

#include <cmath>

#include "core/check.h"

namespace ckf::cpu {

// Follows torch.optim.AdamW (amsgrad off) operation by operation, so the two agree to rounding:
//   p *= 1 - lr * wd;  m = lerp(m, g, 1 - b1);  v = b2 v + (1 - b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
void adamw_update(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWConfig& cfg,
                  int64_t step) {
  CKF_CHECK(step >= 1, "adamw_update: step " << step << " must count from 1");
  const float decay = 1.0f - cfg.lr * cfg.weight_decay;
  const float step_size = static_cast<float>(cfg.lr / (1.0 - std::pow(static_cast<double>(cfg.beta1), step)));
  const float bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(static_cast<double>(cfg.beta2), step)));
  for (int64_t i = 0; i < n; i++) {
    const float g = grad[i];
    param[i] *= decay;
    m[i] += (1.0f - cfg.beta1) * (g - m[i]);
    v[i] = cfg.beta2 * v[i] + (1.0f - cfg.beta2) * g * g;
    param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + cfg.eps);
  }
}

}  // namespace ckf::cpu
