#include <algorithm>
#include <numeric>

#include "kernels/cuda/check.h"
#include "kernels/cuda/row_scatter.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

// One thread per (destination row, column): consecutive threads read consecutive columns.
__global__ void row_scatter_sum_kernel(__nv_bfloat16* out, const __nv_bfloat16* in, const int32_t* rows,
                                       const int32_t* offsets, const int32_t* srcs, int R, int C) {
  const int64_t idx = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (idx >= static_cast<int64_t>(R) * C) return;
  const int64_t r = idx / C, c = idx % C;
  float sum = 0.0f;
  for (int k = offsets[r]; k < offsets[r + 1]; ++k) sum += __bfloat162float(in[static_cast<int64_t>(srcs[k]) * C + c]);
  out[static_cast<int64_t>(rows[r]) * C + c] = __float2bfloat16(sum);
}

}  // namespace

void row_scatter_plan(const int32_t* rows, int M, RowScatterPlan& plan) {
  plan.srcs.resize(M);
  std::iota(plan.srcs.begin(), plan.srcs.end(), 0);
  // Stable: the sources of one row stay in ascending m, which fixes the summation order.
  std::stable_sort(plan.srcs.begin(), plan.srcs.end(), [&](int32_t a, int32_t b) { return rows[a] < rows[b]; });
  plan.rows.clear();
  plan.offsets.clear();
  for (int k = 0; k < M; ++k)
    if (k == 0 || rows[plan.srcs[k]] != rows[plan.srcs[k - 1]]) {
      plan.rows.push_back(rows[plan.srcs[k]]);
      plan.offsets.push_back(k);
    }
  plan.offsets.push_back(M);
}

void row_scatter_sum(__nv_bfloat16* out, const __nv_bfloat16* in, const int32_t* rows, const int32_t* offsets,
                     const int32_t* srcs, int R, int C, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(R) * C;
  if (n == 0) return;
  row_scatter_sum_kernel<<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(
      out, in, rows, offsets, srcs, R, C);
  CUDA_CHECK_LAUNCH("row_scatter_sum_kernel");
}

}  // namespace ckf::cuda
