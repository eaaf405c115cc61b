// CUDA multi-tensor sum of squares (kernels/cuda/grad_norm.h) against a double host reference:
// tensors of odd sizes (1, 257, one past what one sweep of the grid covers so blocks stride),
// counted and uncounted tensors, non-finite values in either, bit-identical repeated calls.
// Tolerance: 1e-12 relative (both sum the same fp64 squares, only the order differs).
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "kernels/cuda/grad_norm.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaGradNorm = CudaTest;

// Device copies of host tensors, the GradNormTensor list over them and the workspace.
struct NormInputs {
  std::vector<std::vector<float>> host;    // (T) values
  std::vector<bool> counted;               // (T)
  std::vector<cuda::DeviceBuffer<float>> dev;
  cuda::DeviceBuffer<cuda::GradNormTensor> list;
  cuda::DeviceBuffer<double> workspace, sum;
  int64_t max_n = 0;

  NormInputs(std::vector<std::vector<float>> values, std::vector<bool> flags)
      : host(std::move(values)), counted(std::move(flags)) {
    std::vector<cuda::GradNormTensor> l;
    for (size_t i = 0; i < host.size(); i++) {
      dev.emplace_back(host[i]);
      l.push_back({dev.back().data(), static_cast<int64_t>(host[i].size()), counted[i] ? 1 : 0});
      max_n = std::max<int64_t>(max_n, static_cast<int64_t>(host[i].size()));
    }
    list = cuda::DeviceBuffer<cuda::GradNormTensor>(l);
    workspace = cuda::DeviceBuffer<double>(cuda::grad_sum_squares_workspace(static_cast<int>(l.size()), max_n));
    sum = cuda::DeviceBuffer<double>(1);
  }
  void set(size_t t, size_t i, float x) {
    host[t][i] = x;
    dev[t].upload(host[t]);
  }
  double run(cudaStream_t stream) {
    cuda::grad_sum_squares(sum.data(), list.data(), static_cast<int>(host.size()), max_n, workspace.data(), stream);
    return sum.download()[0];
  }
  // Independent reference: counted squares in double; an uncounted non-finite value gives NaN.
  double reference() const {
    double s = 0.0;
    for (size_t t = 0; t < host.size(); t++)
      for (float x : host[t]) {
        if (counted[t]) s += static_cast<double>(x) * x;
        else if (!std::isfinite(x)) return std::numeric_limits<double>::quiet_NaN();
      }
    return s;
  }
};

// 40000 > 128 blocks * 256 threads: the blocks of that tensor take a second sweep.
const std::vector<size_t> kSizes = {1, 257, 40000, 3001, 64};

NormInputs random_inputs(std::mt19937& rng) {
  std::vector<std::vector<float>> values;
  for (size_t n : kSizes) values.push_back(random_floats(n, rng, -2.0f, 2.0f));
  return NormInputs(std::move(values), {true, false, true, false, true});
}

TEST_F(CudaGradNorm, MatchesDoubleReferenceWithCountFlags) {
  std::mt19937 rng(91);
  NormInputs in = random_inputs(rng);
  const double want = in.reference();
  const double got = in.run(stream());
  EXPECT_NEAR(got, want, 1e-12 * want);
  // The uncounted tensors must not add: counting everything is a clearly different sum.
  double all = 0.0;
  for (const auto& v : in.host)
    for (float x : v) all += static_cast<double>(x) * x;
  EXPECT_GT(std::fabs(all - got), 1.0);
}

TEST_F(CudaGradNorm, RepeatedCallsAreBitIdentical) {
  std::mt19937 rng(92);
  NormInputs in = random_inputs(rng);
  const double first = in.run(stream());
  for (int k = 0; k < 3; k++) {
    const double again = in.run(stream());
    EXPECT_EQ(std::memcmp(&first, &again, sizeof(double)), 0) << first << " vs " << again;
  }
}

TEST_F(CudaGradNorm, NonFiniteValuesPropagate) {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  struct Case {
    size_t tensor, index;
    float value;
    bool want_nan;  // else +inf
    const char* what;
  };
  const Case cases[] = {{1, 200, nan, true, "NaN in an uncounted tensor"},
                        {3, 3000, inf, true, "inf in an uncounted tensor"},
                        {2, 39999, inf, false, "inf in a counted tensor (second sweep)"},
                        {0, 0, nan, true, "NaN in the size-1 counted tensor"}};
  for (const Case& c : cases) {
    std::mt19937 rng(93);
    NormInputs in = random_inputs(rng);
    in.set(c.tensor, c.index, c.value);
    const double got = in.run(stream());
    if (c.want_nan) {
      EXPECT_TRUE(std::isnan(got)) << c.what << ": got " << got;
    } else {
      EXPECT_TRUE(std::isinf(got) && got > 0) << c.what << ": got " << got;
    }
    EXPECT_EQ(std::isnan(got), std::isnan(in.reference())) << c.what;
  }
}

TEST_F(CudaGradNorm, NoTensorsGiveZero) {
  cuda::DeviceBuffer<double> sum(std::vector<double>{7.0});
  cuda::grad_sum_squares(sum.data(), nullptr, 0, 0, nullptr, stream());
  EXPECT_EQ(sum.download()[0], 0.0);
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaGradNorm)

#endif
