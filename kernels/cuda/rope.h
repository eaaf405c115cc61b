// Rotary position embedding on the GPU, bf16 in place with fp32 arithmetic; twin of kernels/cpu/rope.h
// (Hugging Face rotate_half layout: element i pairs with i + D/2, angle pos * theta^(-2i/D)).
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// x (N, H, D) bf16 rotated in place; pos (N) int32 in device memory, non-negative (the host that
// builds positions checks them; the kernel does not). Throws on odd D.
void rope_forward(__nv_bfloat16* x, const int32_t* pos, int N, int H, int D, float theta, cudaStream_t stream);

// The inverse rotation applied to a gradient in place: dx (N, H, D).
void rope_backward(__nv_bfloat16* dx, const int32_t* pos, int N, int H, int D, float theta, cudaStream_t stream);

}  // namespace ckf::cuda
