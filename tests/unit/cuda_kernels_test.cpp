// CUDA kernels against their CPU twins (kernels/cpu): cuBLAS gemm with fp32 and bf16 operands, and
// the bf16 RMSNorm forward. The CPU twin runs on the same bf16-rounded inputs, so differences come
// only from accumulation order (fp32 both sides) and the final bf16 rounding of outputs.
// Without a GPU every test is skipped with the CUDA runtime's reason; without CUDA in the build it
// compiles to a single skipped test.
#include <gtest/gtest.h>

#ifdef CKF_WITH_CUDA

#include <cstring>
#include <random>

#include "core/half.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/device.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

class CudaKernels : public ::testing::Test {
 protected:
  void SetUp() override {
    const GpuQuery q = gpu_query();
    if (q.gpus.empty()) GTEST_SKIP() << "no usable GPU: " << q.why_none;
    CUDA_CHECK(cudaSetDevice(0));
    CUBLAS_CHECK(cublasCreate(&handle_));
  }
  void TearDown() override {
    if (handle_) cublasDestroy(handle_);
  }
  cublasHandle_t handle_ = nullptr;
};

// Device copy of a host vector, freed on scope exit.
template <class T>
struct DeviceBuffer {
  T* ptr = nullptr;
  size_t n;
  explicit DeviceBuffer(const std::vector<T>& host) : n(host.size()) {
    CUDA_CHECK(cudaMalloc(&ptr, n * sizeof(T)));
    CUDA_CHECK(cudaMemcpy(ptr, host.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  }
  ~DeviceBuffer() { cudaFree(ptr); }
  std::vector<T> to_host() const {
    std::vector<T> host(n);
    CUDA_CHECK(cudaMemcpy(host.data(), ptr, n * sizeof(T), cudaMemcpyDeviceToHost));
    return host;
  }
};

std::vector<uint16_t> to_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = f32_to_bf16(v[i]);
  return out;
}

std::vector<float> from_bf16(const std::vector<uint16_t>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = bf16_to_f32(v[i]);
  return out;
}

struct GemmShape {
  int M, N, K;
};
const GemmShape kGemmShapes[] = {{1, 1, 1}, {7, 33, 6}, {64, 576, 33}, {129, 65, 576}};

// fp32 operands, fp32 output; the default cuBLAS math mode is true fp32 (no TF32), so only the
// summation order differs: tolerance 1e-5 * sqrt(K) abs + 1e-5 rel.
TEST_F(CudaKernels, GemmF32MatchesCpu) {
  std::mt19937 rng(80);
  for (const GemmShape& s : kGemmShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      auto a = random_floats(static_cast<size_t>(s.M) * s.K, rng), b = random_floats(static_cast<size_t>(s.K) * s.N, rng);
      auto c = random_floats(static_cast<size_t>(s.M) * s.N, rng);
      DeviceBuffer<float> da(a), db(b), dc(c);
      cuda::gemm(handle_, dc.ptr, cuda::GemmType::f32, da.ptr, db.ptr, cuda::GemmType::f32, s.M, s.N, s.K, ta, tb, 0.5f,
                 2.0f);
      cpu::gemm(c.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb, 0.5f, 2.0f);
      expect_close(dc.to_host(), to_double(c), 1e-5 * std::sqrt(s.K), 1e-5,
                   "f32 gemm M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" + std::to_string(s.K) +
                       " mode=" + std::to_string(mode));
    }
}

// bf16 operands (the CPU twin gets the same rounded values), fp32 accumulation; output fp32
// (tolerance as above) and bf16 (plus one bf16 rounding: 2^-8 relative).
TEST_F(CudaKernels, GemmBf16MatchesCpu) {
  std::mt19937 rng(81);
  for (const GemmShape& s : kGemmShapes)
    for (int mode = 0; mode < 4; mode++) {
      const bool ta = mode & 1, tb = mode & 2;
      auto a16 = to_bf16(random_floats(static_cast<size_t>(s.M) * s.K, rng));
      auto b16 = to_bf16(random_floats(static_cast<size_t>(s.K) * s.N, rng));
      auto a = from_bf16(a16), b = from_bf16(b16);
      std::vector<float> want(static_cast<size_t>(s.M) * s.N);
      cpu::gemm(want.data(), a.data(), b.data(), s.M, s.N, s.K, ta, tb);
      const std::string name = "M=" + std::to_string(s.M) + " N=" + std::to_string(s.N) + " K=" +
                               std::to_string(s.K) + " mode=" + std::to_string(mode);
      DeviceBuffer<uint16_t> da(a16), db(b16);
      DeviceBuffer<float> dc32(std::vector<float>(want.size(), 0.0f));
      DeviceBuffer<uint16_t> dc16(std::vector<uint16_t>(want.size(), 0));
      cuda::gemm(handle_, dc32.ptr, cuda::GemmType::f32, da.ptr, db.ptr, cuda::GemmType::bf16, s.M, s.N, s.K, ta, tb);
      cuda::gemm(handle_, dc16.ptr, cuda::GemmType::bf16, da.ptr, db.ptr, cuda::GemmType::bf16, s.M, s.N, s.K, ta, tb);
      const double atol = 1e-5 * std::sqrt(s.K);
      expect_close(dc32.to_host(), to_double(want), atol, 1e-5, "bf16 -> f32 gemm " + name);
      expect_close(from_bf16(dc16.to_host()), to_double(want), atol, 1.0 / 256, "bf16 -> bf16 gemm " + name);
    }
}

// out is bf16: tolerance one bf16 rounding (2^-8 relative) plus 1e-6 abs; rstd fp32: 1e-5 relative.
TEST_F(CudaKernels, RmsNormForwardBf16MatchesCpu) {
  std::mt19937 rng(82);
  for (auto [N, C] : {std::tuple{1, 6}, std::tuple{7, 64}, std::tuple{33, 576}, std::tuple{3, 1537}}) {
    auto x16 = to_bf16(random_floats(static_cast<size_t>(N) * C, rng, -3, 3));
    auto w16 = to_bf16(random_floats(C, rng, 0.5f, 1.5f));
    auto x = from_bf16(x16), w = from_bf16(w16);
    std::vector<float> want(x.size()), rstd_want(N);
    cpu::rmsnorm_forward(want.data(), rstd_want.data(), x.data(), w.data(), N, C, 1e-5f);
    DeviceBuffer<uint16_t> dx(x16), dw(w16), dout(std::vector<uint16_t>(x.size(), 0));
    DeviceBuffer<float> drstd(std::vector<float>(N, 0.0f));
    cuda::rmsnorm_forward(reinterpret_cast<__nv_bfloat16*>(dout.ptr), drstd.ptr,
                          reinterpret_cast<const __nv_bfloat16*>(dx.ptr), reinterpret_cast<const __nv_bfloat16*>(dw.ptr),
                          N, C, 1e-5f, nullptr);
    CUDA_CHECK(cudaDeviceSynchronize());
    const std::string name = "N=" + std::to_string(N) + " C=" + std::to_string(C);
    expect_close(from_bf16(dout.to_host()), to_double(want), 1e-6, 1.0 / 256, "rmsnorm out " + name);
    expect_close(drstd.to_host(), to_double(rstd_want), 0.0, 1e-5, "rmsnorm rstd " + name);
  }
}

}  // namespace

#else

TEST(CudaKernels, SkippedWithoutCuda) { GTEST_SKIP() << "this build has no CUDA backend (CKF_CUDA=OFF or no nvcc)"; }

#endif
