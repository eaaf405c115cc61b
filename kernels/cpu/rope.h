// Rotary position embedding in the Hugging Face LLaMA layout ("rotate_half"): within each head of
// size D, element i pairs with element i + D/2, rotated by angle pos * theta^(-2i/D).
#pragma once
#include <cstdint>

namespace ckf::cpu {

// x (N, H, D) rotated in place; pos (N) is each token's position in its sequence.
void rope_forward(float* x, const int32_t* pos, int N, int H, int D, float theta);

// The inverse rotation applied to a gradient in place: dx (N, H, D).
void rope_backward(float* dx, const int32_t* pos, int N, int H, int D, float theta);

}  // namespace ckf::cpu
