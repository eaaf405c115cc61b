#include "kernels/cpu/swiglu.h"

#include <cmath>

namespace ckf::cpu {

void swiglu_forward(float* out, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float s = 1.0f / (1.0f + std::exp(-gate[i]));
    out[i] = gate[i] * s * up[i];
  }
}

// d silu(g)/dg = s * (1 + g * (1 - s)) with s = sigmoid(g).
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    const float g = gate[i];
    const float s = 1.0f / (1.0f + std::exp(-g));
    dgate[i] = dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
    dup[i] = dout[i] * g * s;
  }
}

}  // namespace ckf::cpu
