// Shared helpers of the CUDA kernel tests (tests/unit/cuda_*_test.cpp): a fixture that skips with
// the CUDA runtime's reason when no GPU is usable, bf16 conversions, and host <-> device copies.
// Each CUDA op is compared with its CPU twin run on the same bf16-rounded inputs, so differences
// come only from fp32 summation order and the bf16 rounding of outputs.
#pragma once
#include <gtest/gtest.h>

// In a build without CUDA a test file compiles to this one skipped test.
#define CKF_CUDA_TESTS_SKIPPED(Suite) \
  TEST(Suite, SkippedWithoutCuda) { GTEST_SKIP() << "this build has no CUDA backend (CKF_CUDA=OFF or no nvcc)"; }

#ifdef CKF_WITH_CUDA
#include <cuda_bf16.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/half.h"
#include "kernels/cuda/buffer.h"
#include "kernels/cuda/check.h"
#include "kernels/cuda/context.h"
#include "kernels/device.h"

namespace ckf::test {

class CudaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const GpuQuery q = gpu_query();
    if (q.gpus.empty()) GTEST_SKIP() << "no usable GPU: " << q.why_none;
    ctx_ = std::make_unique<cuda::CudaContext>(0);
  }
  cudaStream_t stream() const { return ctx_->stream(); }
  cublasHandle_t cublas() const { return ctx_->cublas(); }
  void sync() const { ctx_->synchronize(); }

  std::unique_ptr<cuda::CudaContext> ctx_;
};

using Bf16Buffer = cuda::DeviceBuffer<__nv_bfloat16>;

// v rounded to the nearest bf16 (ties to even), kept as fp32: the values both twins compute with.
inline std::vector<float> bf16_round(const std::vector<float>& v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); i++) out[i] = bf16_to_f32(f32_to_bf16(v[i]));
  return out;
}

// A bf16 device copy of v (rounded to nearest).
inline Bf16Buffer upload_bf16(const std::vector<float>& v) {
  std::vector<uint16_t> bits(v.size());
  for (size_t i = 0; i < v.size(); i++) bits[i] = f32_to_bf16(v[i]);
  Bf16Buffer buf(v.size());
  if (!v.empty()) CUDA_CHECK(cudaMemcpy(buf.data(), bits.data(), buf.bytes(), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());  // landed before a kernel on the test's non-blocking stream reads it
  return buf;
}

inline std::vector<float> download_bf16(const Bf16Buffer& buf) {
  std::vector<uint16_t> bits(buf.size());
  if (buf.size() > 0) CUDA_CHECK(cudaMemcpy(bits.data(), buf.data(), buf.bytes(), cudaMemcpyDeviceToHost));
  std::vector<float> out(bits.size());
  for (size_t i = 0; i < bits.size(); i++) out[i] = bf16_to_f32(bits[i]);
  return out;
}

// max |v|, for tolerances relative to a tensor's scale.
inline double max_abs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, static_cast<double>(std::fabs(x)));
  return m;
}

// fn must throw ckf::Error whose message contains `needle` (a bare EXPECT_THROW would also pass on
// the "no CUDA driver" error of a GPU-less machine, not only on the argument check under test).
template <class Fn>
void expect_error_containing(Fn fn, const std::string& needle) {
  try {
    fn();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << "error was: " << e.what();
    return;
  }
  ADD_FAILURE() << "no ckf::Error thrown; expected one containing '" << needle << "'";
}

}  // namespace ckf::test

#endif  // CKF_WITH_CUDA
