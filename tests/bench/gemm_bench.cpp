// Achieved GFLOP/s of ckf::cpu::gemm (OpenBLAS) on the transformer's GEMM shapes, against a naive
// triple loop and against this machine's measured fp32 peak. The peak is measured with an
// FMA-bound loop: 16 independent accumulator chains of 512-bit (AVX-512) or 256-bit (AVX2) FMAs,
// run on 1 thread and on every hardware thread, so the ratios say how close BLAS gets to the FPU.
// Usage: gemm_bench [threads]   (default: all hardware threads; the 1-thread table always runs)
// OpenBLAS 0.3.21 with DYNAMIC_ARCH picks the SSE3 "Prescott" kernels on CPUs it does not know
// (this virtualised Sapphire Rapids among them); OPENBLAS_CORETYPE=SkylakeX restores AVX-512.
#include <cblas.h>
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernels/cpu/matmul.h"

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ~10 ms per run: short runs, best of many, so a run that other processes did not disturb is likely.
constexpr long kFmaIters = 2'000'000;

// Returns the flops done: 16 chains x 16 lanes x 2 flops per iteration.
__attribute__((target("avx512f"))) double fma_loop_avx512() {
  __m512 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm512_set1_ps(1.0f + i * 1e-3f);
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < kFmaIters; it++)
    for (int i = 0; i < 16; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm512_add_ps(s, acc[i]);
  float out[16];
  _mm512_storeu_ps(out, s);
  volatile float sink = out[0];  // keeps the loop alive
  (void)sink;
  return 16.0 * 16 * 2 * kFmaIters;
}

__attribute__((target("avx2,fma"))) double fma_loop_avx2() {
  __m256 acc[16];
  for (int i = 0; i < 16; i++) acc[i] = _mm256_set1_ps(1.0f + i * 1e-3f);
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < kFmaIters; it++)
    for (int i = 0; i < 16; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  float out[8];
  __m256 s = acc[0];
  for (int i = 1; i < 16; i++) s = _mm256_add_ps(s, acc[i]);
  _mm256_storeu_ps(out, s);
  volatile float sink = out[0];
  (void)sink;
  return 16.0 * 8 * 2 * kFmaIters;
}

// Peak GFLOP/s of `threads` threads each running the FMA loop (best of 50 runs).
double measure_peak(int threads, bool avx512) {
  double best = 0.0;
  for (int rep = 0; rep < 50; rep++) {
    std::vector<std::thread> pool;
    const auto t0 = Clock::now();
    for (int t = 0; t < threads; t++) pool.emplace_back([avx512] { avx512 ? fma_loop_avx512() : fma_loop_avx2(); });
    for (auto& th : pool) th.join();
    const double flops = threads * (avx512 ? 16.0 * 16 * 2 : 16.0 * 8 * 2) * kFmaIters;
    best = std::max(best, flops / seconds_since(t0) / 1e9);
  }
  return best;
}

// c (M, N) = a (M, K) @ b (N, K)^T, the linear layer's layout, as the textbook triple loop.
void gemm_naive(float* c, const float* a, const float* b, int M, int N, int K) {
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = 0.0f;
      for (int k = 0; k < K; k++) s += a[static_cast<long>(i) * K + k] * b[static_cast<long>(j) * K + k];
      c[static_cast<long>(i) * N + j] = s;
    }
}

struct Shape {
  int M, N, K;
  const char* what;
};

// GFLOP/s of fn() doing 2MNK flops: one warm-up, then the best of enough runs to fill ~0.5 s.
template <class Fn>
double gflops(const Shape& s, Fn fn) {
  fn();
  const double flops = 2.0 * s.M * s.N * s.K;
  double best = 0.0, total = 0.0;
  for (int rep = 0; rep < 20 && total < 0.5; rep++) {
    const auto t0 = Clock::now();
    fn();
    const double dt = seconds_since(t0);
    total += dt;
    best = std::max(best, flops / dt / 1e9);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  const int hw = static_cast<int>(std::thread::hardware_concurrency());
  const int many = argc > 1 ? std::atoi(argv[1]) : hw;
  const bool avx512 = __builtin_cpu_supports("avx512f");
  // Which kernel OpenBLAS picked matters: a build that does not know the CPU falls back to AVX2.
  std::printf("OpenBLAS: %s, core %s\n", openblas_get_config(), openblas_get_corename());
  if (avx512 && std::string(openblas_get_corename()) == "Prescott")
    std::printf("  (OpenBLAS did not recognise this AVX-512 CPU and uses its SSE3 kernels; rerun with\n"
                "   OPENBLAS_CORETYPE=SkylakeX or Cooperlake in the environment)\n");
  std::printf("fp32 peak measured with an FMA-bound %s loop (16 chains):\n", avx512 ? "AVX-512" : "AVX2");
  const double peak1 = measure_peak(1, avx512), peak_many = measure_peak(many, avx512);
  std::printf("  1 thread: %.1f GFLOP/s   %d threads: %.1f GFLOP/s\n\n", peak1, many, peak_many);
  std::printf("(a shared machine makes every figure noisy: rates are the best of repeated runs)\n\n");

  const Shape shapes[] = {{2048, 1536, 576, "MLP gate/up: tokens x F x C"},
                          {2048, 576, 1536, "MLP down: tokens x C x F"},
                          {2048, 576, 576, "attention q/o: tokens x C x C"},
                          {256, 49152, 576, "LM head on answer rows: rows x V x C"},
                          {256, 576, 49152, "LM head dinp: rows x C x V (as M x N x K)"}};
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  auto random_vec = [&](size_t n) {
    std::vector<float> v(n);
    for (float& x : v) x = dist(rng);
    return v;
  };

  for (int threads : {1, many}) {
    ckf::cpu::blas_set_threads(threads);
    const double peak = threads == 1 ? peak1 : peak_many;
    std::printf("ckf::cpu::gemm (OpenBLAS, c = a b^T), %d thread(s):\n", threads);
    std::printf("  %6s %6s %6s  %9s  %8s  %s\n", "M", "N", "K", "GFLOP/s", "of peak", "shape");
    for (const Shape& s : shapes) {
      auto a = random_vec(static_cast<size_t>(s.M) * s.K), b = random_vec(static_cast<size_t>(s.N) * s.K);
      std::vector<float> c(static_cast<size_t>(s.M) * s.N);
      const double g = gflops(s, [&] { ckf::cpu::gemm(c.data(), a.data(), b.data(), s.M, s.N, s.K, false, true); });
      std::printf("  %6d %6d %6d  %9.1f  %7.1f%%  %s\n", s.M, s.N, s.K, g, 100.0 * g / peak, s.what);
    }
    std::printf("\n");
    if (threads == many && many == 1) break;
  }

  // The naive loop is too slow for the full shapes; its rate (GFLOP/s) on a 256-row slice of the
  // attention projection shape stands for the full one, since the loop's speed does not depend on M.
  ckf::cpu::blas_set_threads(1);
  const Shape small{256, 576, 576, "256-row slice of tokens x C x C"};
  auto a = random_vec(static_cast<size_t>(small.M) * small.K), b = random_vec(static_cast<size_t>(small.N) * small.K);
  std::vector<float> c(static_cast<size_t>(small.M) * small.N);
  const double naive = gflops(small, [&] { gemm_naive(c.data(), a.data(), b.data(), small.M, small.N, small.K); });
  const double blas = gflops(small, [&] { ckf::cpu::gemm(c.data(), a.data(), b.data(), small.M, small.N, small.K, false, true); });
  std::printf("naive triple loop vs gemm, 1 thread, %dx%dx%d:\n", small.M, small.N, small.K);
  std::printf("  naive %.2f GFLOP/s (%.1f%% of peak)   gemm %.1f GFLOP/s   gemm / naive = %.1fx\n", naive,
              100.0 * naive / peak1, blas, blas / naive);
  return 0;
}
