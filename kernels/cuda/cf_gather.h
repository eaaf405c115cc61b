// Reading the frozen CF tables on the GPU for the mapper: a batch uploads only ids, and the rows
// (a user's or an item's embedding, or the mean over a user's history) are gathered here.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace ckf::cuda {

// out (N, d) fp32: row n = the mean of table (R, d) rows ids[n*H .. n*H + H), negative ids
// ignored (an unknown history entry, or padding), zeros when none is left. H = 1 gathers single
// rows. ids in device memory, validated by the host (the kernel does not check ranges).
void cf_rows_mean(float* out, const float* table, const int32_t* ids, int N, int H, int d, cudaStream_t stream);

}  // namespace ckf::cuda
