// AdamWCuda (core/cuda/optimizer_cuda.h) against the CPU AdamW (core/optimizer.h) on identical
// inputs: tensors of odd sizes (1, one larger than a grid sweep of the norm kernel), mixed
// count_in_norm flags, weight decay, a warmup + cosine schedule, gradient scales that clip in some
// steps and not in others, and one step whose reduction doubles the sum (as a second rank would).
// Tolerances: grad norm 1e-12 relative (fp64 sums in another order); clip factor 1e-6 relative (it
// may round to a neighbouring fp32 value); params and moments 1e-6 relative + 1e-7 absolute (same
// fp32 operation order, the device may fuse multiply-adds); lr exact. A skipped step, the bf16
// copies and a download/upload round trip are compared exactly.
#include "tests/unit/cuda_test_util.h"

#ifdef CKF_WITH_CUDA

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>

#include "core/cuda/optimizer_cuda.h"
#include "core/optimizer.h"
#include "tests/unit/kernel_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

// 40000 > 128 blocks * 256 threads: the norm kernel's blocks sweep that tensor twice.
const std::vector<Shape> kShapes = {{1}, {7, 37}, {40000}, {3, 11}, {577}};
const std::vector<bool> kCounted = {true, false, true, false, true};
const std::vector<bool> kWithBf16 = {true, true, false, true, false};

OptimizerConfig test_config() {
  OptimizerConfig cfg;
  cfg.adamw = {0, 0.9f, 0.95f, 1e-8f, 0.1f};
  cfg.schedule = {1e-2f, 1e-3f, 3, 10, LrDecay::cosine};
  cfg.max_grad_norm = 20.0f;  // counted norm ~ 120 * scale: clips at scale 1 and above
  return cfg;
}

std::vector<float> values(const Tensor& t) { return {t.data<float>(), t.data<float>() + t.numel()}; }

std::vector<Param> make_params(std::mt19937& rng) {
  std::vector<Param> ps;
  for (size_t i = 0; i < kShapes.size(); i++) {
    ps.push_back(Param::make(std::string("p").append(std::to_string(i)), kShapes[i]));
    const std::vector<float> v = random_floats(ps.back().value.numel(), rng);
    std::copy(v.begin(), v.end(), ps.back().value.data<float>());
  }
  return ps;
}

ParamRefs refs(std::vector<Param>& ps) {
  ParamRefs r;
  for (Param& p : ps) r.push_back(&p);
  return r;
}

// Device tensors with the values `init` (zero grads, a bf16 copy where kWithBf16), mirroring `mirror`.
struct DeviceParams {
  std::vector<cuda::DeviceBuffer<float>> value, grad;
  std::vector<Bf16Buffer> bf16;
  std::vector<cuda::DeviceTensor> tensors;

  DeviceParams(const std::vector<std::vector<float>>& init, const std::vector<Param>& mirror) {
    for (size_t i = 0; i < init.size(); i++) {
      value.emplace_back(init[i]);
      grad.emplace_back(std::vector<float>(init[i].size(), 0.0f));
      bf16.push_back(kWithBf16[i] ? upload_bf16(init[i]) : Bf16Buffer());
    }
    for (size_t i = 0; i < init.size(); i++)
      tensors.push_back({mirror[i].value.data<float>(), value[i].data(), grad[i].data(),
                         kWithBf16[i] ? bf16[i].data() : nullptr, static_cast<int64_t>(init[i].size())});
  }
};

// Random gradients of the given scale into the CPU params and the device grads alike.
void set_grads(std::vector<Param>& cpu, DeviceParams& dev, float scale, std::mt19937& rng) {
  for (size_t i = 0; i < cpu.size(); i++) {
    const std::vector<float> g = random_floats(cpu[i].grad.numel(), rng, -scale, scale);
    std::copy(g.begin(), g.end(), cpu[i].grad.data<float>());
    dev.grad[i].upload(g);
  }
}

class CudaOptimizer : public CudaTest {
 protected:
  void SetUp() override {
    CudaTest::SetUp();
    if (IsSkipped()) return;
    std::mt19937 rng(510);
    cpu_ = make_params(rng);
    mirror_ = make_params(rng);  // the host params the device tensors mirror (download/upload target)
    cpu_opt_ = std::make_unique<AdamW>(refs(cpu_), cfg_, kCounted);
    mirror_opt_ = std::make_unique<AdamW>(refs(mirror_), cfg_, kCounted);
    std::vector<std::vector<float>> init;
    for (const Param& p : cpu_) init.push_back(values(p.value));
    dev_ = std::make_unique<DeviceParams>(init, mirror_);
    dev_opt_ = std::make_unique<cuda::AdamWCuda>(dev_->tensors, cfg_, kCounted);
  }

  // One step on both; `factor` stands in for the other ranks' share of the all-reduce.
  void step_both(double factor, const std::string& what) {
    int cpu_calls = 0, dev_calls = 0;
    double cpu_local = 0, dev_local = 0;
    const StepResult c = cpu_opt_->step([&](double s) {
      cpu_calls++;
      cpu_local = s;
      return factor * s;
    });
    const StepResult d = dev_opt_->step(
        [&](double s) {
          dev_calls++;
          dev_local = s;
          return factor * s;
        },
        stream());
    sync();
    EXPECT_EQ(cpu_calls, 1) << what;
    EXPECT_EQ(dev_calls, 1) << what;
    EXPECT_EQ(d.applied, c.applied) << what;
    EXPECT_EQ(d.lr, c.lr) << what;
    if (c.applied) {
      EXPECT_NEAR(dev_local, cpu_local, 1e-12 * cpu_local) << what;
      EXPECT_NEAR(d.grad_norm, c.grad_norm, 1e-12 * c.grad_norm) << what;
      EXPECT_NEAR(d.clip_scale, c.clip_scale, 1e-6 * c.clip_scale) << what;
    } else {
      EXPECT_TRUE(std::isnan(d.grad_norm) && std::isnan(c.grad_norm)) << what << ": " << d.grad_norm;
      EXPECT_EQ(d.clip_scale, 1.0f) << what;
    }
    EXPECT_EQ(dev_opt_->step_count(), cpu_opt_->step_count()) << what;
    last_ = d;
  }

  // Device values, moments (through download) and bf16 copies against the CPU optimizer; grads zero.
  void expect_state_matches(const std::string& what) {
    dev_opt_->download(*mirror_opt_, stream());
    EXPECT_EQ(mirror_opt_->step_count(), cpu_opt_->step_count()) << what;
    for (size_t i = 0; i < cpu_.size(); i++) {
      const std::string name = what + " tensor " + std::to_string(i);
      const std::vector<float> v = dev_->value[i].download();
      expect_close(v, to_double(values(cpu_[i].value)), 1e-7, 1e-6, name + " value");
      expect_close(values(mirror_opt_->moments_m()[i].value), to_double(values(cpu_opt_->moments_m()[i].value)), 1e-7,
                   1e-6, name + " m");
      expect_close(values(mirror_opt_->moments_v()[i].value), to_double(values(cpu_opt_->moments_v()[i].value)), 1e-7,
                   1e-6, name + " v");
      expect_close(dev_->grad[i].download(), std::vector<double>(v.size(), 0.0), 0.0, 0.0, name + " grad zeroed");
      if (kWithBf16[i])
        expect_close(download_bf16(dev_->bf16[i]), to_double(bf16_round(v)), 0.0, 0.0, name + " bf16 copy");
    }
  }

  OptimizerConfig cfg_ = test_config();
  std::vector<Param> cpu_, mirror_;
  std::unique_ptr<AdamW> cpu_opt_, mirror_opt_;
  std::unique_ptr<DeviceParams> dev_;
  std::unique_ptr<cuda::AdamWCuda> dev_opt_;
  StepResult last_;
};

TEST_F(CudaOptimizer, FiveStepsMatchCpu) {
  std::mt19937 rng(511);
  const float scales[] = {2.0f, 0.05f, 1.0f, 0.02f, 3.0f};
  int clipped = 0;
  for (int k = 0; k < 5; k++) {
    set_grads(cpu_, *dev_, scales[k], rng);
    const std::string what = "step " + std::to_string(k + 1);
    step_both(1.0, what);
    ASSERT_TRUE(last_.applied) << what;
    clipped += last_.clip_scale < 1.0f;
    expect_state_matches(what);
  }
  EXPECT_EQ(clipped, 3);  // scales 2, 1 and 3 clip; 0.05 and 0.02 do not
}

// A reduction that doubles the local sum (two ranks with equal shares) clips by 1/sqrt(2) more.
TEST_F(CudaOptimizer, ReducedSumSetsTheClipFactor) {
  std::mt19937 rng(512);
  set_grads(cpu_, *dev_, 1.0f, rng);
  step_both(2.0, "doubled sum");
  ASSERT_TRUE(last_.applied);
  const double local = last_.grad_norm * last_.grad_norm / 2.0;
  EXPECT_NEAR(last_.clip_scale, cfg_.max_grad_norm / std::sqrt(2.0 * local), 1e-6);
  EXPECT_LT(last_.clip_scale, cfg_.max_grad_norm / std::sqrt(local) * 0.75);
  expect_state_matches("doubled sum");
}

// NaN in an uncounted tensor: both skip, nothing but the (zeroed) grads changes; training goes on.
TEST_F(CudaOptimizer, NonFiniteUncountedGradSkipsOnBoth) {
  std::mt19937 rng(513);
  for (int k = 0; k < 2; k++) {
    set_grads(cpu_, *dev_, 1.0f, rng);
    step_both(1.0, "warm-up step " + std::to_string(k + 1));
  }
  dev_opt_->download(*mirror_opt_, stream());
  std::vector<std::vector<float>> before_value, before_bf16, before_m, before_v;
  for (size_t i = 0; i < cpu_.size(); i++) {
    before_value.push_back(dev_->value[i].download());
    before_bf16.push_back(download_bf16(dev_->bf16[i]));
    before_m.push_back(values(mirror_opt_->moments_m()[i].value));
    before_v.push_back(values(mirror_opt_->moments_v()[i].value));
  }
  set_grads(cpu_, *dev_, 1.0f, rng);
  ASSERT_FALSE(kCounted[3]);
  cpu_[3].grad.data<float>()[5] = std::numeric_limits<float>::quiet_NaN();
  dev_->grad[3].upload(values(cpu_[3].grad));
  step_both(1.0, "NaN step");
  EXPECT_FALSE(last_.applied);
  EXPECT_EQ(dev_opt_->step_count(), 2);
  dev_opt_->download(*mirror_opt_, stream());
  for (size_t i = 0; i < cpu_.size(); i++) {
    const std::string name = "skipped step, tensor " + std::to_string(i);
    EXPECT_EQ(dev_->value[i].download(), before_value[i]) << name;
    EXPECT_EQ(download_bf16(dev_->bf16[i]), before_bf16[i]) << name;  // empty without a copy
    EXPECT_EQ(values(mirror_opt_->moments_m()[i].value), before_m[i]) << name;
    EXPECT_EQ(values(mirror_opt_->moments_v()[i].value), before_v[i]) << name;
  }
  expect_state_matches("after the skipped step");
  set_grads(cpu_, *dev_, 1.0f, rng);
  step_both(1.0, "step after the skip");
  EXPECT_TRUE(last_.applied);
  expect_state_matches("step after the skip");
}

// Checkpoint round trip: download moments and step, restore into a fresh AdamWCuda over copies
// of the values; two more steps there equal two more uninterrupted steps, bit for bit.
TEST_F(CudaOptimizer, DownloadUploadRoundTripContinuesExactly) {
  std::mt19937 rng(514);
  for (int k = 0; k < 3; k++) {
    set_grads(cpu_, *dev_, 1.0f, rng);
    step_both(1.0, "step " + std::to_string(k + 1));
  }
  dev_opt_->download(*mirror_opt_, stream());
  std::vector<std::vector<float>> values_now;  // what the model's download and upload carry over
  for (size_t i = 0; i < cpu_.size(); i++) values_now.push_back(dev_->value[i].download());
  DeviceParams resumed(values_now, mirror_);
  cuda::AdamWCuda resumed_opt(resumed.tensors, cfg_, kCounted);
  resumed_opt.upload(*mirror_opt_, stream());
  EXPECT_EQ(resumed_opt.step_count(), 3);
  for (int k = 0; k < 2; k++) {
    std::mt19937 grad_rng(600 + k);
    for (size_t i = 0; i < cpu_.size(); i++) {
      const std::vector<float> g = random_floats(cpu_[i].grad.numel(), grad_rng);
      dev_->grad[i].upload(g);
      resumed.grad[i].upload(g);
    }
    const StepResult a = dev_opt_->step([](double s) { return s; }, stream());
    const StepResult b = resumed_opt.step([](double s) { return s; }, stream());
    EXPECT_EQ(std::memcmp(&a.grad_norm, &b.grad_norm, sizeof(double)), 0);
    EXPECT_EQ(a.lr, b.lr);
    EXPECT_EQ(a.clip_scale, b.clip_scale);
  }
  AdamW resumed_host(refs(mirror_), cfg_, kCounted);
  dev_opt_->download(*mirror_opt_, stream());
  resumed_opt.download(resumed_host, stream());
  EXPECT_EQ(resumed_host.step_count(), 5);
  for (size_t i = 0; i < cpu_.size(); i++) {
    const std::string name = "tensor " + std::to_string(i);
    EXPECT_EQ(resumed.value[i].download(), dev_->value[i].download()) << name;
    EXPECT_EQ(download_bf16(resumed.bf16[i]), download_bf16(dev_->bf16[i])) << name;
    EXPECT_EQ(values(resumed_host.moments_m()[i].value), values(mirror_opt_->moments_m()[i].value)) << name;
    EXPECT_EQ(values(resumed_host.moments_v()[i].value), values(mirror_opt_->moments_v()[i].value)) << name;
  }
}

// download/upload pair device tensors with host params by pointer: a different host list is an error.
TEST_F(CudaOptimizer, MisalignedHostOptimizerIsAnError) {
  expect_error_containing([&] { dev_opt_->download(*cpu_opt_, stream()); }, "host param 'p0'");
  std::vector<Param> fewer(mirror_.begin(), mirror_.begin() + 2);
  AdamW short_host(refs(fewer), cfg_, {true, true});
  expect_error_containing([&] { dev_opt_->upload(short_host, stream()); }, "host optimizer has 2 params");
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaOptimizer)

#endif
