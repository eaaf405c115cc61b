// CUDA multi-tensor AdamW against kernels/cpu/adamw.h applied tensor by tensor: several tensors of
// different (odd) sizes, one launch per step, three steps with weight decay, the gradients scaled by
// a clipping factor (1 in the first step) as kernels/cpu/grad_norm.h's grad_scale does. Same fp32
// operation order on both sides; tolerance 1e-6 rel + 1e-7 abs for fused multiply-adds. The bf16
// copy must equal the rounded fp32 parameter exactly, and the launch leaves every grad zero.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <random>
#include <string>

#include "kernels/cpu/adamw.h"
#include "kernels/cpu/grad_norm.h"
#include "kernels/cuda/adamw.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaAdamW = CudaTest;

struct HostTensor {
  std::vector<float> p, g, m, v;
};

TEST_F(CudaAdamW, MultiTensorMatchesCpu) {
  std::mt19937 rng(150);
  const std::vector<int64_t> sizes = {1, 257, 16 * 576, 3000};
  const cpu::AdamWConfig cfg{1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f};
  std::vector<HostTensor> host;
  std::vector<cuda::DeviceBuffer<float>> dev;  // p, g, m, v per tensor
  std::vector<Bf16Buffer> dev16;
  std::vector<cuda::AdamWTensor> list;
  for (int64_t n : sizes) {
    host.push_back({random_floats(n, rng), random_floats(n, rng), std::vector<float>(n, 0.0f),
                    std::vector<float>(n, 0.0f)});
    for (auto* h : {&host.back().p, &host.back().g, &host.back().m, &host.back().v}) dev.emplace_back(*h);
    dev16.emplace_back(n);
  }
  for (size_t i = 0; i < sizes.size(); i++)
    list.push_back({dev[4 * i].data(), dev[4 * i + 1].data(), dev[4 * i + 2].data(), dev[4 * i + 3].data(),
                    i == 1 ? nullptr : dev16[i].data(), sizes[i]});
  cuda::DeviceBuffer<cuda::AdamWTensor> d_list(list);
  const float scales[] = {1.0f, 0.37f, 0.05f};
  for (int64_t step = 1; step <= 3; step++) {
    for (size_t i = 0; i < sizes.size(); i++) dev[4 * i + 1].upload(host[i].g);  // the launch zeroed them
    cuda::adamw_update(d_list.data(), static_cast<int>(list.size()), 3000 + 16 * 576, cfg, step, scales[step - 1],
                       stream());
    for (HostTensor& t : host) {
      std::vector<float> g = t.g;
      const cpu::GradSpan span{g.data(), static_cast<int64_t>(g.size())};
      cpu::grad_scale({&span, 1}, scales[step - 1]);
      cpu::adamw_update(t.p.data(), g.data(), t.m.data(), t.v.data(), static_cast<int64_t>(t.p.size()), cfg, step);
    }
  }
  sync();
  for (size_t i = 0; i < sizes.size(); i++) {
    const std::string name = "tensor " + std::to_string(i) + " n=" + std::to_string(sizes[i]);
    expect_close(dev[4 * i].download(), to_double(host[i].p), 1e-7, 1e-6, "adamw param " + name);
    expect_close(dev[4 * i + 2].download(), to_double(host[i].m), 1e-7, 1e-6, "adamw m " + name);
    expect_close(dev[4 * i + 3].download(), to_double(host[i].v), 1e-7, 1e-6, "adamw v " + name);
    if (i != 1)
      expect_close(download_bf16(dev16[i]), to_double(bf16_round(dev[4 * i].download())), 0.0, 0.0,
                   "adamw bf16 copy " + name);
    expect_close(dev[4 * i + 1].download(), std::vector<double>(sizes[i], 0.0), 0.0, 0.0, "adamw grad zeroed " + name);
  }
}

TEST_F(CudaAdamW, ZeroGradsTouchesNothingElse) {
  std::mt19937 rng(151);
  const std::vector<int64_t> sizes = {1, 300, 5000};
  std::vector<std::vector<float>> p;
  std::vector<cuda::DeviceBuffer<float>> dev;  // p, g, m, v per tensor
  std::vector<cuda::AdamWTensor> list;
  for (int64_t n : sizes) {
    p.push_back(random_floats(n, rng));
    for (int k = 0; k < 4; k++) dev.emplace_back(k == 0 ? p.back() : random_floats(n, rng));
  }
  for (size_t i = 0; i < sizes.size(); i++)
    list.push_back({dev[4 * i].data(), dev[4 * i + 1].data(), dev[4 * i + 2].data(), dev[4 * i + 3].data(), nullptr,
                    sizes[i]});
  cuda::DeviceBuffer<cuda::AdamWTensor> d_list(list);
  cuda::adamw_zero_grads(d_list.data(), static_cast<int>(list.size()), 5000, stream());
  sync();
  for (size_t i = 0; i < sizes.size(); i++) {
    EXPECT_EQ(dev[4 * i].download(), p[i]) << "param " << i;
    expect_close(dev[4 * i + 1].download(), std::vector<double>(sizes[i], 0.0), 0.0, 0.0, "zeroed grad");
  }
}

// Checked on the host before any CUDA call: runs without a GPU too.
TEST(CudaAdamWArgs, StepZeroThrows) {
  expect_error_containing([] { cuda::adamw_update(nullptr, 1, 1, cpu::AdamWConfig{}, 0, 1.0f, nullptr); },
                          "step 0 must count from 1");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaAdamW)

#endif
