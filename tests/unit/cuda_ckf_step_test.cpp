// The CKF step on the device (core/cuda/ckf_step_cuda.h) against the CPU step (core/ckf_step.h,
// checked by finite differences in ckf_step_test) on a tiny random model with a random mapper and
// random CF tables: a batch of two tasks with user and item placeholders, histories with -1
// entries (and an empty one) and a text-only example; metanet and shared_linear; LoRA dropout off
// and on (the device must draw the CPU's masks). The device backward runs with loss_weight 0.7
// and must give 0.7 times the CPU gradients, for every LoRA tensor and every mapper tensor, paired
// through ckf_cuda_tensors by the host value each mirrors.
// The decoder weights and adapters are rounded to bf16 before both run (the device stores them
// so); the device then computes the decoder in bf16, the CPU in fp32, and the device rounds its
// fp32 soft tokens to bf16 where they enter the decoder (relative 2^-9, below the activations'
// own rounding). Tolerances, relative to each tensor's scale, as in cuda_llama_step_test:
//   loss                         |d| <= 2e-2 * |loss|
//   every LoRA and mapper grad   |d| <= 5e-2 * max|g| elementwise, ||d|| <= 7.5e-2 * ||g||
// The mapper gradients are fp32 images of the soft tokens' gradient, whose bf16 error they carry
// (d_soft is held to the same bounds in cuda_llama_step_test); a missing weight (1 vs 0.7), a
// wrong soft-row order or a dropped mapper term moves them by >= 30%, far outside.
#include "tests/unit/cuda_model_test_util.h"

#ifdef CKF_WITH_CUDA

#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/ckf_step.h"
#include "core/cuda/ckf_step_cuda.h"
#include "tests/unit/ckf_step_test_util.h"
#include "tests/unit/llama_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaCkfStep = CudaTest;

constexpr int kDcf = 5, kUsers = 4, kItems = 6;
constexpr float kWeight = 0.7f;

// Two tasks; user and item placeholders in three examples (histories: with -1 entries, of one
// item, empty), one text-only example.
std::vector<CkfExample> examples(int V) {
  auto tok = [V](int x) { return x % V; };
  using P = Placeholder;
  const auto U = PlaceholderKind::user, I = PlaceholderKind::item;
  return {
      {"ctr", 1, {0, 2, -1, 5}, {tok(3), tok(4), tok(5), tok(6), tok(7)}, {P{1, U, 1}, P{3, I, 2}}, {tok(9)}},
      {"seq", 0, {1}, {tok(11), tok(12), tok(13)}, {P{0, U, 3}, P{2, I, 5}}, {tok(14), tok(15)}},
      {"ctr", 2, {}, {tok(16), tok(17), tok(18), tok(19)}, {}, {tok(20), tok(21), tok(22)}},
      {"seq", 3, {-1, 4}, {tok(23), tok(24), tok(25), tok(26)}, {P{3, I, 0}, P{1, U, 2}, P{2, I, 0}}, {tok(27)}},
  };
}

// The CPU step's gradients keyed by the host value pointer each parameter's DeviceTensor mirrors.
std::map<const float*, std::pair<std::string, std::vector<float>>> cpu_grads(LlamaModel& model, Mapper* mapper) {
  std::map<const float*, std::pair<std::string, std::vector<float>>> out;
  for (LoraParam& p : multilora_params(model.lora)) out[p.param.data<const float>()] = {p.name, to_floats(p.grad)};
  if (mapper)
    for (Param* p : mapper_params(*mapper)) out[p->value.data<const float>()] = {p->name, to_floats(p->grad)};
  return out;
}

void zero_cpu_grads(LlamaModel& model, Mapper& mapper) {
  multilora_zero_grad(model.lora);
  for (Param* p : mapper_params(mapper)) std::fill_n(p->grad.data<float>(), p->grad.numel(), 0.0f);
}

std::vector<float> download_f32(const float* src, int64_t n) {
  std::vector<float> v(n);
  CUDA_CHECK(cudaDeviceSynchronize());
  CUDA_CHECK(cudaMemcpy(v.data(), src, n * sizeof(float), cudaMemcpyDeviceToHost));
  return v;
}

// The CPU step (gradients unweighted) against the device step with kWeight; host_mapper null runs
// the device text only (the CPU runs its mapper on no placeholders: the same computation).
void expect_step_matches_cpu(LlamaModel& model, Mapper& mapper, Mapper* host_mapper, const CfTables& cf,
                             const std::vector<CkfExample>& ex, const LlamaRunMode& mode, const cuda::CudaContext& ctx) {
  CkfStepActs cpu;
  zero_cpu_grads(model, mapper);
  const float want_loss = ckf_forward(model, mapper, cf, ex, cpu, mode);
  ckf_backward(model, mapper, cpu);
  const auto want = cpu_grads(model, host_mapper);

  cuda::CkfModelCuda dev = cuda::ckf_cuda_upload(model, host_mapper, cf);
  cuda::CkfStepActsCuda acts;
  const float loss = cuda::ckf_cuda_forward(dev, ex, acts, mode, ctx);
  std::vector<int> layers_done;
  cuda::ckf_cuda_backward(dev, acts, kWeight, ctx, [&](int l) { layers_done.push_back(l); });
  EXPECT_NEAR(loss, want_loss, 2e-2 * std::fabs(want_loss));
  std::vector<int> descending;
  for (int l = model.config.n_layers - 1; l >= 0; --l) descending.push_back(l);
  EXPECT_EQ(layers_done, descending) << "on_layer_done: once per layer, last layer first";

  const std::vector<cuda::DeviceTensor> ts = cuda::ckf_cuda_tensors(dev, model, host_mapper);
  ASSERT_EQ(ts.size(), want.size()) << "every trainable tensor exactly once";
  int nonzero = 0;
  for (const cuda::DeviceTensor& t : ts) {
    auto it = want.find(t.host_value);
    ASSERT_NE(it, want.end()) << "a device tensor mirrors no host parameter";
    const auto& [name, g] = it->second;
    ASSERT_EQ(t.n, int64_t(g.size())) << name;
    std::vector<float> weighted(g);
    for (float& x : weighted) x *= kWeight;
    nonzero += max_abs(g) > 0.0;
    expect_near_scaled(download_f32(t.grad, t.n), weighted, 5e-2, 7.5e-2, name);
  }
  EXPECT_GT(nonzero, int(ts.size()) / 2) << "the CPU gradients should reach most tensors";
}

TEST_F(CudaCkfStep, LossAndWeightedGradientsMatchCpu) {
  const LlamaConfig cfg = tiny_config();
  const CfTables cf = test::random_cf(kUsers, kItems, kDcf, 8);
  for (MappingKind kind : {MappingKind::metanet, MappingKind::shared_linear})
    for (bool dropout : {false, true}) {
      SCOPED_TRACE(std::string(kind == MappingKind::metanet ? "metanet" : "shared_linear") +
                   (dropout ? ", dropout" : ", no dropout"));
      LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 21);
      if (dropout) {
        model.lora.shared_spec.dropout = 0.1f;
        model.lora.task_spec.dropout = 0.3f;
      }
      round_model_to_bf16(model);
      Mapper mapper = test::random_mapper(kDcf, cfg.d_model, kind);
      expect_step_matches_cpu(model, mapper, &mapper, cf, examples(cfg.vocab), {dropout, 11}, *ctx_);
    }
}

TEST_F(CudaCkfStep, TextOnlyRunsWithoutMapper) {
  for (const LlamaConfig& cfg : {tiny_config(), odd_config()}) {
    SCOPED_TRACE(::testing::PrintToString(cfg));
    LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 5);
    round_model_to_bf16(model);
    Mapper mapper = test::random_mapper(kDcf, cfg.d_model, MappingKind::metanet);
    const CfTables cf = test::random_cf(kUsers, kItems, kDcf, 9);
    std::vector<CkfExample> ex = examples(cfg.vocab);
    for (CkfExample& e : ex) e.placeholders.clear();
    expect_step_matches_cpu(model, mapper, nullptr, cf, ex, {true, 3}, *ctx_);

    // Placeholders need a mapper.
    cuda::CkfModelCuda dev = cuda::ckf_cuda_upload(model, nullptr, cf);
    cuda::CkfStepActsCuda acts;
    expect_error_containing([&] { cuda::ckf_cuda_forward(dev, examples(cfg.vocab), acts, {}, *ctx_); },
                            "placeholders but the model has no mapper");
  }
}

// Bad ids give the CPU path's error, word for word (both come from ckf_batch_layout).
TEST_F(CudaCkfStep, BadIdsGiveTheCpuError) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 2);
  Mapper mapper = test::random_mapper(kDcf, cfg.d_model, MappingKind::metanet);
  const CfTables cf = test::random_cf(kUsers, kItems, kDcf, 1);
  cuda::CkfModelCuda dev = cuda::ckf_cuda_upload(model, &mapper, cf);
  auto bad = [&](auto mutate) {
    std::vector<CkfExample> ex = examples(cfg.vocab);
    mutate(ex);
    return ex;
  };
  const std::vector<std::vector<CkfExample>> cases = {
      bad([](auto& ex) { ex[1].placeholders[1].id = kItems; }),
      bad([](auto& ex) { ex[3].placeholders[1].id = -1; }),
      bad([](auto& ex) { ex[0].history[1] = kItems + 2; }),
      bad([](auto& ex) { ex[2].user = kUsers; }),
      bad([](auto& ex) { ex[3].placeholders[0].pos = 4; }),
  };
  for (const std::vector<CkfExample>& ex : cases) {
    std::string cpu_error;
    try {
      CkfStepActs acts;
      ckf_forward(model, mapper, cf, ex, acts, {});
    } catch (const Error& e) {
      cpu_error = e.what();
    }
    ASSERT_NE(cpu_error, "") << "the CPU path accepted a bad id";
    cuda::CkfStepActsCuda acts;
    expect_error_containing([&] { cuda::ckf_cuda_forward(dev, ex, acts, {}, *ctx_); }, cpu_error);
  }
}

// Values go down unchanged, an upload replaces what the device computes with (fp32 masters and the
// LoRA bf16 copies), and a download brings the uploaded values back.
TEST_F(CudaCkfStep, ValuesRoundTrip) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 4);
  Mapper mapper = test::random_mapper(kDcf, cfg.d_model, MappingKind::shared_linear);
  const CfTables cf = test::random_cf(kUsers, kItems, kDcf, 2);
  cuda::CkfModelCuda dev = cuda::ckf_cuda_upload(model, &mapper, cf);
  const std::vector<cuda::DeviceTensor> ts = cuda::ckf_cuda_tensors(dev, model, &mapper);
  std::map<const float*, Tensor> host;  // host value pointer -> its tensor
  for (LoraParam& p : multilora_params(model.lora)) host.emplace(p.param.data<const float>(), p.param);
  for (Param* p : mapper_params(mapper)) host.emplace(p->value.data<const float>(), p->value);
  ASSERT_EQ(host.size(), ts.size());

  std::map<const float*, std::vector<float>> orig, changed;
  for (auto& [ptr, t] : host) {
    orig[ptr] = to_floats(t);
    for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.25f * float(i % 7) - orig[ptr][i];
    changed[ptr] = to_floats(t);
  }
  cuda::ckf_cuda_upload_values(dev, model, &mapper);
  for (const cuda::DeviceTensor& t : ts) {
    EXPECT_EQ(download_f32(t.value, t.n), changed.at(t.host_value));
    if (t.value_bf16) {
      EXPECT_EQ(cuda::bf16_download(t.value_bf16, t.n), bf16_round(changed.at(t.host_value)));
    }
  }
  for (auto& [ptr, t] : host) std::copy(orig[ptr].begin(), orig[ptr].end(), t.data<float>());
  cuda::ckf_cuda_download_values(dev, model, &mapper);
  for (auto& [ptr, t] : host) EXPECT_EQ(to_floats(t), changed.at(ptr));
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaCkfStep)

#endif
