#include "kernels/cuda/cf_gather.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

namespace {

constexpr int kThreads = 256;

// One thread per output element: it walks the row's H ids in order, as the CPU twin does.
__global__ void cf_rows_mean_kernel(float* out, const float* table, const int32_t* ids, int H, int d, int64_t n) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= n) return;
  const int64_t row = i / d, j = i % d;
  float sum = 0.0f;
  int count = 0;
  for (int k = 0; k < H; ++k) {
    const int32_t id = ids[row * H + k];
    if (id < 0) continue;
    sum += table[static_cast<int64_t>(id) * d + j];
    ++count;
  }
  out[i] = count > 0 ? sum / static_cast<float>(count) : 0.0f;
}

}  // namespace

void cf_rows_mean(float* out, const float* table, const int32_t* ids, int N, int H, int d, cudaStream_t stream) {
  const int64_t n = static_cast<int64_t>(N) * d;
  if (n == 0) return;
  cf_rows_mean_kernel<<<static_cast<unsigned>((n + kThreads - 1) / kThreads), kThreads, 0, stream>>>(out, table, ids,
                                                                                                       H, d, n);
  CUDA_CHECK_LAUNCH("cf_rows_mean_kernel");
}

}  // namespace ckf::cuda
