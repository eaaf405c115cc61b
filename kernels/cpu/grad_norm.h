// Global gradient norm over several tensors and clipping to a maximum norm.
#pragma once
#include <cstdint>
#include <span>

namespace ckf::cpu {

struct GradSpan {
  float* data;
  int64_t n;
};

// Sum of squares over all spans, accumulated in double (the caller all-reduces it across ranks).
double grad_sum_squares(std::span<const GradSpan> grads);

// Scale factor that clipping to max_norm applies for a given global norm: min(1, max_norm / norm).
// Throws when the norm is NaN or infinite (the step must not be applied) or max_norm <= 0.
float grad_clip_scale(double global_norm, float max_norm);

// grads *= scale.
void grad_scale(std::span<const GradSpan> grads, float scale);

}  // namespace ckf::cpu
