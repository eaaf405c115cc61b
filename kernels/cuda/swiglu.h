// SwiGLU gate on the GPU, bf16 storage with fp32 arithmetic; twin of kernels/cpu/swiglu.h:
// out = silu(gate) * up.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// out, gate, up: (n) bf16, typically (N, F).
void swiglu_forward(__nv_bfloat16* out, const __nv_bfloat16* gate, const __nv_bfloat16* up, int64_t n,
                    cudaStream_t stream);

// dgate, dup (n) bf16 are written (not accumulated); they may alias gate and up.
void swiglu_backward(__nv_bfloat16* dgate, __nv_bfloat16* dup, const __nv_bfloat16* dout, const __nv_bfloat16* gate,
                     const __nv_bfloat16* up, int64_t n, cudaStream_t stream);

}  // namespace ckf::cuda
