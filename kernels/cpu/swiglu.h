// SwiGLU gate of the LLaMA MLP: out = silu(gate) * up, silu(x) = x * sigmoid(x).
#pragma once
#include <cstdint>

namespace ckf::cpu {

// out, gate, up: (n) elements, typically (N, F).
void swiglu_forward(float* out, const float* gate, const float* up, int64_t n);

// dgate, dup (n) are written (not accumulated).
void swiglu_backward(float* dgate, float* dup, const float* dout, const float* gate, const float* up, int64_t n);

}  // namespace ckf::cpu
