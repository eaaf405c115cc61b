// The CUDA emulator (tests/cuda_emu, CKF_CUDA=EMU) against independent references: block and warp
// reductions vs host sums in double, a missing __syncthreads and divergent barriers detected,
// launch limits reported through cudaGetLastError, cuBLAS GemmEx vs a naive double GEMM with
// transposes and padded leading dimensions, and device memory poisoned on allocation.
#include "tests/unit/cuda_test_util.h"

#ifndef CKF_CUDA_EMU
TEST(CudaEmu, SkippedWithoutEmulator) {
  GTEST_SKIP() << "the CUDA emulator's own tests run only in a CKF_CUDA=EMU build";
}
#else
#include <cublas_v2.h>

#include <cmath>
#include <random>
#include <vector>

#include "tests/cuda_emu/selftest/emu_selftest_kernels.h"

namespace ckf::test {
namespace {

using FloatBuffer = cuda::DeviceBuffer<float>;

std::vector<float> random_values(size_t n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(gen);
  return v;
}

double host_sum(const std::vector<float>& v) {
  double s = 0.0;
  for (float x : v) s += x;
  return s;
}

using CudaEmuTest = CudaTest;

// fp32 sums of <= 5000 values in [-1, 1]: |error| well below 1e-3.
TEST_F(CudaEmuTest, BlockReductionMatchesHostSum) {
  for (int threads : {32, 256, 1024})
    for (int n : {1, 37, 1000, 5000}) {
      const std::vector<float> x = random_values(n, 7 + n);
      FloatBuffer dx(x), out(1);
      ckf_emu_selftest::block_sum(out.data(), dx.data(), n, threads, true);
      ASSERT_EQ(cudaGetLastError(), cudaSuccess);
      EXPECT_NEAR(out.download()[0], host_sum(x), 1e-3) << "threads " << threads << " n " << n;
    }
}

// Without the barriers, threads read partial sums before they are written: the emulator resumes
// threads in a scrambled order and shared memory starts as NaN, so the result is wrong.
TEST_F(CudaEmuTest, MissingSyncthreadsGivesWrongResult) {
  const std::vector<float> x = random_values(1000, 3);
  FloatBuffer dx(x), out(1);
  ckf_emu_selftest::block_sum(out.data(), dx.data(), 1000, 256, false);
  const float got = out.download()[0];
  EXPECT_FALSE(std::fabs(got - host_sum(x)) < 1e-3) << "racy reduction gave the right sum " << got;
}

TEST_F(CudaEmuTest, DivergentSyncthreadsAborts) {
  EXPECT_DEATH(ckf_emu_selftest::divergent_syncthreads(),
               "deadlock: 32 threads wait at __syncthreads while 32 have exited.*divergent_syncthreads_kernel");
}

TEST_F(CudaEmuTest, ShuffleWithExitedLanesAborts) {
  EXPECT_DEATH(ckf_emu_selftest::shuffle_after_exit(), "__shfl_xor_sync waits for a lane that has exited");
}

TEST_F(CudaEmuTest, WarpShufflesMatchHostSums) {
  const int n = 192;
  const std::vector<float> x = random_values(n, 11);
  FloatBuffer dx(x), by_xor(n / 32), by_down(n / 32);
  ckf_emu_selftest::warp_sums(by_xor.data(), by_down.data(), dx.data(), n);
  ASSERT_EQ(cudaGetLastError(), cudaSuccess);
  const std::vector<float> a = by_xor.download(), b = by_down.download();
  for (int w = 0; w < n / 32; w++) {
    const std::vector<float> lanes(x.begin() + 32 * w, x.begin() + 32 * (w + 1));
    EXPECT_NEAR(a[w], host_sum(lanes), 1e-5) << "warp " << w;
    EXPECT_NEAR(b[w], host_sum(lanes), 1e-5) << "warp " << w;
  }
}

TEST_F(CudaEmuTest, LaunchLimitsSetLastError) {
  FloatBuffer out(4096);
  EXPECT_EQ(ckf_emu_selftest::fill_iota(out.data(), 4096, 2048, 0, 0), cudaErrorInvalidConfiguration);
  EXPECT_TRUE(std::isnan(out.download()[0])) << "a rejected launch ran";
  EXPECT_EQ(cudaGetLastError(), cudaSuccess) << "cudaGetLastError resets the error";
  EXPECT_EQ(ckf_emu_selftest::fill_iota(out.data(), 4096, 1024, 64 << 10, 0), cudaErrorInvalidValue)
      << "64 KiB of dynamic shared memory without opting in";
  EXPECT_EQ(ckf_emu_selftest::fill_iota(out.data(), 4096, 1024, 64 << 10, 100 << 10), cudaSuccess);
  EXPECT_EQ(ckf_emu_selftest::fill_iota(out.data(), 4096, 1024, 0, 228 << 10), cudaErrorInvalidValue)
      << "opting in above the device's 227 KiB";
  const std::vector<float> got = out.download();
  for (int i = 0; i < 4096; i += 511) EXPECT_EQ(got[i], static_cast<float>(i));
}

TEST_F(CudaEmuTest, DeviceMemoryIsPoisonedAndTracked) {
  size_t free0 = 0, total = 0;
  ASSERT_EQ(cudaMemGetInfo(&free0, &total), cudaSuccess);
  FloatBuffer f(1000);
  Bf16Buffer h(1000);
  for (float v : f.download()) ASSERT_TRUE(std::isnan(v));
  for (float v : download_bf16(h)) ASSERT_TRUE(std::isnan(v));
  size_t free1 = 0;
  ASSERT_EQ(cudaMemGetInfo(&free1, &total), cudaSuccess);
  EXPECT_EQ(free0 - free1, 1000 * sizeof(float) + 1000 * 2);
  int on_host = 0;
  EXPECT_EQ(cudaFree(&on_host), cudaErrorInvalidDevicePointer);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevicePointer);
  std::vector<float> big(1001);
  EXPECT_EQ(cudaMemcpy(f.data(), big.data(), big.size() * sizeof(float), cudaMemcpyHostToDevice), cudaErrorInvalidValue)
      << "a copy past the end of the allocation";
  cudaGetLastError();
}

// Column-major reference: C = alpha op(A) op(B) + beta C, in double.
std::vector<double> gemm_reference(bool ta, bool tb, int m, int n, int k, float alpha, const std::vector<float>& a,
                                   int lda, const std::vector<float>& b, int ldb, float beta, const std::vector<float>& c,
                                   int ldc) {
  std::vector<double> out(c.begin(), c.end());
  for (int j = 0; j < n; j++)
    for (int i = 0; i < m; i++) {
      double s = 0.0;
      for (int l = 0; l < k; l++) {
        const double av = ta ? a[l + static_cast<size_t>(i) * lda] : a[i + static_cast<size_t>(l) * lda];
        const double bv = tb ? b[j + static_cast<size_t>(l) * ldb] : b[l + static_cast<size_t>(j) * ldb];
        s += av * bv;
      }
      out[i + static_cast<size_t>(j) * ldc] = alpha * s + beta * c[i + static_cast<size_t>(j) * ldc];
    }
  return out;
}

// bf16 inputs are rounded first (both sides use the rounded values); fp32 accumulation of k <= 40
// products of values in [-1, 1]: |error| < 1e-4 for fp32 output, and one bf16 ulp (2^-8 relative)
// of the result for bf16 output.
TEST_F(CudaEmuTest, GemmExMatchesNaiveColumnMajorReference) {
  const int m = 7, n = 5, k = 11;
  for (bool bf16 : {false, true})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        const int lda = (ta ? k : m) + 3, ldb = (tb ? n : k) + 2, ldc = m + 4;
        std::vector<float> a = random_values(static_cast<size_t>(lda) * (ta ? m : k), 1);
        std::vector<float> b = random_values(static_cast<size_t>(ldb) * (tb ? k : n), 2);
        std::vector<float> c = random_values(static_cast<size_t>(ldc) * n, 3);
        if (bf16) a = bf16_round(a), b = bf16_round(b), c = bf16_round(c);
        const float alpha = 0.75f, beta = -0.5f;
        const std::vector<double> want = gemm_reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        const cublasOperation_t oa = ta ? CUBLAS_OP_T : CUBLAS_OP_N, ob = tb ? CUBLAS_OP_T : CUBLAS_OP_N;
        std::vector<float> got;
        if (bf16) {
          Bf16Buffer da = upload_bf16(a), db = upload_bf16(b), dc = upload_bf16(c);
          ASSERT_EQ(cublasGemmEx(cublas(), oa, ob, m, n, k, &alpha, da.data(), CUDA_R_16BF, lda, db.data(), CUDA_R_16BF,
                                 ldb, &beta, dc.data(), CUDA_R_16BF, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                    CUBLAS_STATUS_SUCCESS);
          got = download_bf16(dc);
        } else {
          FloatBuffer da(a), db(b), dc(c);
          ASSERT_EQ(cublasGemmEx(cublas(), oa, ob, m, n, k, &alpha, da.data(), CUDA_R_32F, lda, db.data(), CUDA_R_32F,
                                 ldb, &beta, dc.data(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT),
                    CUBLAS_STATUS_SUCCESS);
          got = dc.download();
        }
        for (int j = 0; j < n; j++)
          for (int i = 0; i < ldc; i++) {
            const size_t idx = i + static_cast<size_t>(j) * ldc;
            if (i >= m) {
              EXPECT_EQ(got[idx], c[idx]) << "padding row " << i << " was written";
              continue;
            }
            const double tol = bf16 ? std::fabs(want[idx]) / 256.0 + 1e-4 : 1e-4;
            EXPECT_NEAR(got[idx], want[idx], tol) << "bf16 " << bf16 << " ta " << ta << " tb " << tb << " (" << i
                                                  << ", " << j << ")";
          }
      }
}

TEST_F(CudaEmuTest, GemmExRejectsBadLeadingDimensions) {
  FloatBuffer a(100), b(100), c(100);
  const float alpha = 1.0f, beta = 0.0f;
  auto call = [&](cublasOperation_t oa, int lda, int ldb, int ldc) {
    return cublasGemmEx(cublas(), oa, CUBLAS_OP_N, 4, 3, 5, &alpha, a.data(), CUDA_R_32F, lda, b.data(), CUDA_R_32F,
                        ldb, &beta, c.data(), CUDA_R_32F, ldc, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  };
  EXPECT_EQ(call(CUBLAS_OP_N, 4, 5, 4), CUBLAS_STATUS_SUCCESS);
  EXPECT_EQ(call(CUBLAS_OP_N, 3, 5, 4), CUBLAS_STATUS_INVALID_VALUE) << "lda < m";
  EXPECT_EQ(call(CUBLAS_OP_T, 4, 5, 4), CUBLAS_STATUS_INVALID_VALUE) << "lda < k for op T";
  EXPECT_EQ(call(CUBLAS_OP_N, 4, 4, 4), CUBLAS_STATUS_INVALID_VALUE) << "ldb < k";
  EXPECT_EQ(call(CUBLAS_OP_N, 4, 5, 3), CUBLAS_STATUS_INVALID_VALUE) << "ldc < m";
}

}  // namespace
}  // namespace ckf::test
#endif  // CKF_CUDA_EMU
