// Time of ckf::cpu::attention_forward and attention_backward at SmolLM2-135M's head layout
// (H = 9 query heads, KVH = 3 key/value heads, D = 64), one sequence, T = 256 and 1024.
// Usage: attention_bench [blas_threads]   (default 1, as when ranks fill the cores)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/matmul.h"

namespace {

using Clock = std::chrono::steady_clock;

// Best time in milliseconds of fn() over a warm-up plus up to 10 runs filling ~1 s.
template <class Fn>
double best_ms(Fn fn) {
  fn();
  double best = 1e300, total = 0.0;
  for (int rep = 0; rep < 10 && total < 1.0; rep++) {
    const auto t0 = Clock::now();
    fn();
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    total += dt;
    best = std::min(best, dt);
  }
  return best * 1e3;
}

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  ckf::cpu::blas_set_threads(threads);
  const int B = 1, H = 9, KVH = 3, D = 64;
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::printf("causal GQA attention, B=%d H=%d KVH=%d D=%d, %d BLAS thread(s)\n", B, H, KVH, D, threads);
  std::printf("  %5s  %12s  %12s  %s\n", "T", "forward ms", "backward ms", "matmul GFLOP/s fwd / bwd (full T x T)");
  for (int T : {256, 1024}) {
    const size_t nq = static_cast<size_t>(B) * T * H * D, nkv = static_cast<size_t>(B) * T * KVH * D;
    std::vector<float> q(nq), k(nkv), v(nkv), dout(nq), out(nq), dq(nq), dk(nkv), dv(nkv);
    std::vector<float> att(static_cast<size_t>(B) * H * T * T);  // (B, H, T, T)
    for (auto* buf : {&q, &k, &v, &dout})
      for (float& x : *buf) x = dist(rng);
    const double fwd = best_ms([&] {
      ckf::cpu::attention_forward(out.data(), att.data(), q.data(), k.data(), v.data(), B, T, H, KVH, D);
    });
    const double bwd = best_ms([&] {
      ckf::cpu::attention_backward(dq.data(), dk.data(), dv.data(), dout.data(), q.data(), k.data(), v.data(),
                                   att.data(), B, T, H, KVH, D);
    });
    // Flops of the GEMMs as computed (full T x T, no causal savings): 2 in forward, 4 in backward.
    const double gemm_flops = 2.0 * B * H * T * T * D;
    std::printf("  %5d  %12.2f  %12.2f  %.1f / %.1f\n", T, fwd, bwd, 2 * gemm_flops / fwd / 1e6,
                4 * gemm_flops / bwd / 1e6);
  }
  return 0;
}
