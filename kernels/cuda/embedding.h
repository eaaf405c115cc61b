// Token embedding lookup with soft-token injection on the GPU; twin of kernels/cpu/embedding.h plus
// the CKF placeholder replacement: prompt rows at the soft positions take the soft-token vectors
// (projected CF embeddings) instead of their placeholder token's embedding.
// The base table is frozen, so backward only produces the soft tokens' gradient.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// out (N, C) bf16 = table (V, C) bf16 [ids (N)], then out[soft_pos[s]] = bf16(soft[s]) for s < S,
// soft (S, C) fp32, soft_pos (S) distinct positions in [0, N). ids, soft_pos in device memory,
// validated by the host that builds them (the kernels do not check ranges).
void embedding_forward(__nv_bfloat16* out, const int32_t* ids, const __nv_bfloat16* table, const int32_t* soft_pos,
                       const float* soft, int N, int C, int S, cudaStream_t stream);

// dsoft (S, C) fp32 += dout (N, C) bf16 [soft_pos (S)].
void embedding_backward_soft(float* dsoft, const __nv_bfloat16* dout, const int32_t* soft_pos, int S, int C,
                             cudaStream_t stream);

}  // namespace ckf::cuda
