// Deterministic row scatter-sum on the GPU: the backward of a row gather out[m] = x[rows[m]] (the LM
// head's lookup of the requested rows in the final norm), where a row gathered more than once sums
// its gradients. No float atomics: the host groups the gather's indices by destination row
// (RowScatterPlan, O(M) ints) and one thread per (destination row, column) adds that row's sources
// in plan order, so the result has the same bits on every run.
#pragma once
#include <cuda_bf16.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

namespace ckf::cuda {

// The gather's indices grouped by destination (CSR).
struct RowScatterPlan {
  std::vector<int32_t> rows;     // (R) distinct gathered rows, ascending
  std::vector<int32_t> offsets;  // (R + 1) rows[r]'s sources are srcs[offsets[r] .. offsets[r + 1])
  std::vector<int32_t> srcs;     // (M) gather positions m, ascending within each row
};

// Fills plan from the gather's rows (M), rows[m] >= 0 (checked by the caller that built them).
void row_scatter_plan(const int32_t* rows, int M, RowScatterPlan& plan);

// out[rows[r]] (bf16) = sum over k in [offsets[r], offsets[r + 1]) of in[srcs[k]], in k order in
// fp32 and rounded once; out (·, C), in (M, C). Rows of out not in rows are left as they are.
// rows, offsets, srcs: a RowScatterPlan's arrays (R, R + 1, M) in device memory.
void row_scatter_sum(__nv_bfloat16* out, const __nv_bfloat16* in, const int32_t* rows, const int32_t* offsets,
                     const int32_t* srcs, int R, int C, cudaStream_t stream);

}  // namespace ckf::cuda
