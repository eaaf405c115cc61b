// LoRA's dropout on the GPU: the adapter's input x (N, in) scaled by a mask of 0 or 1/(1-p), with
// the mask of core/lora.h's lora_forward, bit for bit: element (n, c) of rows [row0, row0 + N) is
// dropped when rng_uniform(seed, stream, (row0 + n) * in_global + in_offset + c) < p (core/rng.h).
// The mask is a pure function of its key, so it is drawn again in backward instead of stored.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

struct DropoutKey {
  float p;            // rate in (0, 1)
  uint64_t seed;      // the step's dropout seed
  uint64_t stream;    // the adapter's random stream
  int64_t row0;       // global row of the first row
  int64_t in_global;  // the adapter's whole input width (row stride of the keys)
  int64_t in_offset;  // column of this slice's first column (0 without tensor parallelism)
};

// out (N, in) bf16 = x (N, in) * mask; out may alias x.
void lora_dropout_forward(__nv_bfloat16* out, const __nv_bfloat16* x, int N, int in, const DropoutKey& key,
                          cudaStream_t stream);

// dx (N, in) bf16 += g (N, in) * mask: the gradient through the mask.
void lora_dropout_backward(__nv_bfloat16* dx, const __nv_bfloat16* g, int N, int in, const DropoutKey& key,
                           cudaStream_t stream);

}  // namespace ckf::cuda
