#include "kernels/cpu/grad_norm.h"

#include <cmath>

#include "core/check.h"

namespace ckf::cpu {

double grad_sum_squares(std::span<const GradSpan> grads) {
  double sum = 0.0;
  for (const GradSpan& g : grads)
    for (int64_t i = 0; i < g.n; i++) sum += static_cast<double>(g.data[i]) * g.data[i];
  return sum;
}

float grad_clip_scale(double global_norm, float max_norm) {
  CKF_CHECK(max_norm > 0.0f, "gradient clipping: max norm " << max_norm << " must be positive");
  CKF_CHECK(std::isfinite(global_norm), "gradient norm is " << global_norm << " (NaN or infinite gradients)");
  return global_norm > max_norm ? static_cast<float>(max_norm / global_norm) : 1.0f;
}

void grad_scale(std::span<const GradSpan> grads, float scale) {
  for (const GradSpan& g : grads)
    for (int64_t i = 0; i < g.n; i++) g.data[i] *= scale;
}

}  // namespace ckf::cpu
