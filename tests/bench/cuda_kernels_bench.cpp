// GPU throughput of the CUDA backend against this GPU's own measured ceilings:
//   - bf16 GEMM (cuBLAS, fp32 accumulate) on SmolLM2-135M shapes vs a large square GEMM (the peak);
//   - flash attention forward / backward at T = 1024 and 4096 with SmolLM2's heads (9 query,
//     3 KV, D = 64), as time and causal TFLOP/s;
//   - RMSNorm bandwidth vs cudaMemcpy device-to-device bandwidth.
// Usage: cuda_kernels_bench [--probe]   --probe only reports whether a GPU is usable (exit 0 / 1).
// Without a usable GPU (or without CUDA in the build) it says why and exits 1.
#include <cstdio>
#include <cstring>

#include "kernels/device.h"

#ifdef CKF_WITH_CUDA

#include <algorithm>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "kernels/cuda/attention.h"
#include "kernels/cuda/buffer.h"
#include "kernels/cuda/context.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/rmsnorm.h"

namespace {

using namespace ckf;
using namespace ckf::cuda;
using Bf16 = __nv_bfloat16;

// Milliseconds per call of fn: 3 warm-up calls, then the mean over `reps` timed with CUDA events.
double time_ms(const CudaContext& ctx, const std::function<void()>& fn, int reps = 20) {
  for (int i = 0; i < 3; i++) fn();
  cudaEvent_t start, stop;
  CUDA_CHECK(cudaEventCreate(&start));
  CUDA_CHECK(cudaEventCreate(&stop));
  CUDA_CHECK(cudaEventRecord(start, ctx.stream()));
  for (int i = 0; i < reps; i++) fn();
  CUDA_CHECK(cudaEventRecord(stop, ctx.stream()));
  CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0.0f;
  CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / reps;
}

// Random bf16 values in [-1, 1): real data, so no zero-skipping shortcut flatters the numbers.
DeviceBuffer<Bf16> random_bf16(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<Bf16> host(n);
  for (Bf16& x : host) x = __float2bfloat16(dist(rng));
  return DeviceBuffer<Bf16>(host);
}

struct Row {
  std::string what, value, ratio;
};

void gemm_rows(const CudaContext& ctx, std::mt19937& rng, std::vector<Row>& rows) {
  auto tflops = [&](int M, int N, int K, bool tb) {
    DeviceBuffer<Bf16> a = random_bf16(static_cast<size_t>(M) * K, rng), b = random_bf16(static_cast<size_t>(K) * N, rng);
    DeviceBuffer<Bf16> c(static_cast<size_t>(M) * N);
    const double ms = time_ms(ctx, [&] {
      gemm(ctx.cublas(), c.data(), GemmType::bf16, a.data(), b.data(), GemmType::bf16, M, N, K, false, tb);
    });
    return 2.0 * M * N * K / (ms * 1e-3) / 1e12;
  };
  const double peak = tflops(8192, 8192, 8192, true);
  rows.push_back({"gemm bf16 8192^3 (peak)", std::to_string(peak) + " TFLOP/s", "1.00"});
  const int N = 8192;  // tokens per step, e.g. 8 sequences of 1024
  struct Shape {
    const char* name;
    int M, N, K;
    bool tb;
  };
  // Forward: out (N, OC) = x (N, C) W^T (tb); backward dX = dY W (no transpose); SmolLM2-135M sizes.
  const Shape shapes[] = {{"qkv fwd  N x 960 x 576", N, 960, 576, true},   {"o fwd    N x 576 x 576", N, 576, 576, true},
                          {"up fwd   N x 1536 x 576", N, 1536, 576, true}, {"down fwd N x 576 x 1536", N, 576, 1536, true},
                          {"down dX  N x 1536 x 576", N, 1536, 576, false}, {"lm head  512 x 49152 x 576", 512, 49152, 576, true}};
  for (const Shape& s : shapes) {
    const double t = tflops(s.M, s.N, s.K, s.tb);
    rows.push_back({std::string("gemm ") + s.name, std::to_string(t) + " TFLOP/s", std::to_string(t / peak)});
  }
}

void attention_rows(const CudaContext& ctx, std::mt19937& rng, std::vector<Row>& rows) {
  const int H = 9, KVH = 3, D = 64, tokens = 8192;
  for (int T : {1024, 4096}) {
    const int B = tokens / T;
    const size_t nq = static_cast<size_t>(B) * T * H * D, nkv = static_cast<size_t>(B) * T * KVH * D;
    DeviceBuffer<Bf16> q = random_bf16(nq, rng), k = random_bf16(nkv, rng), v = random_bf16(nkv, rng),
                       dout = random_bf16(nq, rng), out(nq), dq(nq), dk(nkv), dv(nkv);
    DeviceBuffer<float> lse(static_cast<size_t>(B) * H * T), delta(lse.size());
    const double fwd = time_ms(ctx, [&] {
      attention_forward(out.data(), lse.data(), q.data(), k.data(), v.data(), B, T, H, KVH, D, ctx.stream());
    }, 5);
    const double bwd = time_ms(ctx, [&] {
      attention_backward(dq.data(), dk.data(), dv.data(), delta.data(), dout.data(), q.data(), k.data(), v.data(),
                         out.data(), lse.data(), B, T, H, KVH, D, ctx.stream());
    }, 5);
    const double fwd_flops = 2.0 * 2.0 * B * H * static_cast<double>(T) * T * D / 2;  // QK^T and PV, causal half
    const std::string shape = "B=" + std::to_string(B) + " T=" + std::to_string(T);
    rows.push_back({"attention fwd " + shape, std::to_string(fwd) + " ms",
                    std::to_string(fwd_flops / (fwd * 1e-3) / 1e12) + " TFLOP/s"});
    rows.push_back({"attention bwd " + shape, std::to_string(bwd) + " ms",
                    std::to_string(2.5 * fwd_flops / (bwd * 1e-3) / 1e12) + " TFLOP/s"});
  }
}

void bandwidth_rows(const CudaContext& ctx, std::mt19937& rng, std::vector<Row>& rows) {
  const size_t bytes = size_t{1} << 30;
  DeviceBuffer<char> src(bytes), dst(bytes);
  CUDA_CHECK(cudaMemset(src.data(), 1, bytes));
  const double copy_ms = time_ms(ctx, [&] {
    CUDA_CHECK(cudaMemcpyAsync(dst.data(), src.data(), bytes, cudaMemcpyDeviceToDevice, ctx.stream()));
  }, 10);
  const double copy_gbs = 2.0 * bytes / (copy_ms * 1e-3) / 1e9;  // read + write
  rows.push_back({"cudaMemcpy D2D 1 GiB (read+write)", std::to_string(copy_gbs) + " GB/s", "1.00"});
  const int N = 65536, C = 576;
  DeviceBuffer<Bf16> x = random_bf16(static_cast<size_t>(N) * C, rng), w = random_bf16(C, rng), y(x.size());
  DeviceBuffer<float> rstd(N);
  const double ms = time_ms(ctx, [&] {
    rmsnorm_forward(y.data(), rstd.data(), x.data(), w.data(), N, C, 1e-5f, ctx.stream());
  });
  const double gbs = (2.0 * x.bytes() + rstd.bytes()) / (ms * 1e-3) / 1e9;
  rows.push_back({"rmsnorm fwd 65536 x 576", std::to_string(gbs) + " GB/s", std::to_string(gbs / copy_gbs)});
}

}  // namespace

int main(int argc, char** argv) {
  const ckf::GpuQuery gq = ckf::gpu_query();
  if (gq.gpus.empty()) {
    std::printf("no usable GPU: %s\n", gq.why_none.c_str());
    return 1;
  }
  std::printf("GPU 0: %s, %.1f GiB, sm_%d%d\n", gq.gpus[0].name.c_str(), gq.gpus[0].memory_bytes / 1073741824.0,
              gq.gpus[0].cc_major, gq.gpus[0].cc_minor);
  if (argc > 1 && std::strcmp(argv[1], "--probe") == 0) return 0;
  try {
    CudaContext ctx(0);
    std::mt19937 rng(7);
    std::vector<Row> rows;
    gemm_rows(ctx, rng, rows);
    attention_rows(ctx, rng, rows);
    bandwidth_rows(ctx, rng, rows);
    std::printf("\n%-40s %-22s %s\n", "kernel", "result", "ratio / rate");
    for (const Row& r : rows) std::printf("%-40s %-22s %s\n", r.what.c_str(), r.value.c_str(), r.ratio.c_str());
  } catch (const std::exception& e) {
    std::printf("cuda_kernels_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}

#else

int main() {
  std::printf("no usable GPU: %s\n", ckf::gpu_query().why_none.c_str());
  return 1;
}

#endif
