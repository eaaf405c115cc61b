// Rotary position embedding in the Hugging Face LLaMA layout ("rotate_half"): within each head of
// size D, element i pairs with element i + D/2, rotated by angle pos * theta^(-2i/D).
// GGUF files store q and k projection weights permuted for llama.cpp's interleaved pairs (2i, 2i+1);
// a loader must undo that permutation for this layout to give Hugging Face's results.
#pragma once
#include <cstdint>

namespace ckf::cpu {

// x (N, H, D) rotated in place; pos (N) is each token's position in its sequence. Throws on odd D
// or a negative position.
void rope_forward(float* x, const int32_t* pos, int N, int H, int D, float theta);

// The inverse rotation applied to a gradient in place: dx (N, H, D).
void rope_backward(float* dx, const int32_t* pos, int N, int H, int D, float theta);

}  // namespace ckf::cpu
