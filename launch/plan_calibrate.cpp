#include "launch/plan_calibrate.h"

#include <chrono>
#include <random>
#include <vector>

#include "core/check.h"
#include "kernels/cpu/matmul.h"
#include "kernels/device.h"
#ifdef CKF_WITH_CUDA
#include <cuda_runtime.h>

#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"
#endif

namespace ckf {

double calibrate_cpu_gflops(int M, int N, int K) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  std::vector<float> a(size_t(M) * K), b(size_t(K) * N), c(size_t(M) * N);  // (M, K), (K, N), (M, N)
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);
  cpu::gemm(c.data(), a.data(), b.data(), M, N, K, false, false);  // warm-up: threads, caches
  using clock = std::chrono::steady_clock;
  int reps = 0;
  auto start = clock::now();
  double seconds = 0;
  while (seconds < 0.5 || reps < 3) {  // at least half a second so timer noise stays small
    cpu::gemm(c.data(), a.data(), b.data(), M, N, K, false, false);
    ++reps;
    seconds = std::chrono::duration<double>(clock::now() - start).count();
  }
  return 2.0 * M * N * double(K) * reps / seconds / 1e9;
}

double calibrate_gpu_tflops(int M, int N, int K, std::string& why_not) {
#ifdef CKF_WITH_CUDA
  GpuQuery q = gpu_query();
  if (q.gpus.empty()) {
    why_not = "no GPU: " + q.why_none;
    return 0;
  }
  void *a = nullptr, *b = nullptr, *c = nullptr;  // bf16 (M, K), (K, N), (M, N)
  CUDA_CHECK(cudaMalloc(&a, size_t(M) * K * 2));
  CUDA_CHECK(cudaMalloc(&b, size_t(K) * N * 2));
  CUDA_CHECK(cudaMalloc(&c, size_t(M) * N * 2));
  // Values do not change the rate of a dense GEMM; any bit pattern that is a finite bf16 will do.
  CUDA_CHECK(cudaMemset(a, 0x3c, size_t(M) * K * 2));
  CUDA_CHECK(cudaMemset(b, 0x3c, size_t(K) * N * 2));
  cublasHandle_t handle = nullptr;
  CUBLAS_CHECK(cublasCreate(&handle));
  auto run = [&] { cuda::gemm(handle, c, cuda::GemmType::bf16, a, b, cuda::GemmType::bf16, M, N, K, false, false); };
  for (int i = 0; i < 3; ++i) run();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  const int reps = 20;
  CUDA_CHECK(cudaEventRecord(start));
  for (int i = 0; i < reps; ++i) run();
  CUDA_CHECK(cudaEventRecord(stop));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cublasDestroy(handle);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  return 2.0 * M * N * double(K) * reps / (ms * 1e-3) / 1e12;
#else
  (void)M, (void)N, (void)K;
  why_not = "built without CUDA";
  return 0;
#endif
}

}  // namespace ckf
