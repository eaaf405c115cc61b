// The device training step (core/cuda/llama_model_cuda.h) against the CPU backend
// (core/llama_model.h, itself checked against a double-precision reference and finite differences
// in llama_forward_test / llama_grad_test) on small random models: several tasks with adapters on
// all seven projections (shared and task sets overlapping on v, random B so every gradient is
// non-zero), one batch with right padding (out-of-vocabulary garbage past each length), soft
// tokens in two sequences, a position requested twice and a logits-only row; LoRA dropout off and
// on (shared 0.1, task 0.3: the device must draw the CPU's masks, or the gradients disagree).
// Both backends compute with the same parameters: weights, adapters and soft vectors are rounded
// to bf16 before either runs, so differences come from the device's bf16 activations alone.
// Tolerances (bf16 activations through the whole network, relative to each tensor's scale):
//   loss                       |d| <= 2e-2 * |loss|
//   logits (M, V)              |d| <= 3e-2 * max|logit| elementwise and ||d|| <= 3e-2 * ||logits||
//   every adapter dA, dB       |d| <= 5e-2 * max|g| elementwise and ||d|| <= 7.5e-2 * ||g|| (a sum
//                              over rows with cancellation loses more of its relative precision)
//   d_soft (S, C)              the same as the adapter gradients
//   a task absent from the batch: its gradients exactly 0 on the device, as on the CPU.
// A wrong transpose, segment offset or a missed accumulation moves these by O(1), far outside.
// These tolerances are estimates from the bf16 error budget: the test was written where no GPU was
// available and had not run on one when committed.
#include "tests/unit/cuda_model_test_util.h"

#ifdef CKF_WITH_CUDA

#include <cmath>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "core/cuda/llama_model_cuda.h"
#include "core/llama_model.h"
#include "tests/unit/llama_reference.h"

using namespace ckf;
using namespace ckf::test;

namespace {

using CudaLlamaStep = CudaTest;

struct CpuStep {
  float loss = 0.0f;
  std::vector<float> logits;                                      // (M, V)
  std::vector<float> d_soft;                                      // (S, C)
  std::vector<std::pair<std::string, std::vector<float>>> grads;  // name -> dA or dB
};

CpuStep cpu_step(LlamaModel& model, const LlamaBatch& batch) {
  CpuStep r;
  LlamaActs acts;
  r.loss = llama_forward(model, batch, acts, {true, 11});
  r.logits = to_floats(acts.logits);
  multilora_zero_grad(model.lora);
  Tensor d_soft;
  llama_backward(model, batch, acts, &d_soft);
  r.d_soft = to_floats(d_soft);
  for (LoraParam& p : multilora_params(model.lora)) r.grads.emplace_back(p.name, to_floats(p.grad));
  return r;
}

// Host side of the step, runs without a GPU: the batch's index arrays, checked element by element
// against their definitions on tiny_batch (B 3, T 7, lengths 7 4 6, out-of-vocab padding, 3 soft
// tokens, 7 requested rows of which one has no target and one position is requested twice).
TEST(CudaLlamaStepHost, BatchPackFollowsTheCpuConventions) {
  const LlamaConfig cfg = tiny_config();
  const LlamaBatch b = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 3);
  cuda::LlamaBatchCuda in;
  EXPECT_EQ(cuda::llama_batch_cuda_pack(b, in), 6);
  const int T = b.T, N = b.B * b.T, M = int(b.outputs.size());
  ASSERT_EQ(in.ids_host.size(), size_t(N));
  for (int s = 0; s < b.B; ++s)
    for (int t = 0; t < T; ++t) {
      const int32_t want = t < b.lengths[s] ? b.tokens[size_t(s) * T + t] : 0;
      EXPECT_EQ(in.ids_host[size_t(s) * T + t], want) << "sequence " << s << " position " << t;
      EXPECT_EQ(in.pos_host[size_t(s) * T + t], t);
    }
  EXPECT_EQ(in.soft_rows_host, (std::vector<int32_t>{0 * 7 + 2, 2 * 7 + 0, 2 * 7 + 5}));
  EXPECT_EQ(in.soft_host, to_floats(b.soft_vectors));
  double dloss_sum = 0.0;
  for (int m = 0; m < M; ++m) {
    const int row = b.outputs[m].seq * T + b.outputs[m].pos;
    EXPECT_EQ(in.out_rows_host[m], row);
    EXPECT_EQ(in.targets_host[m], b.outputs[m].target);
    EXPECT_EQ(in.dlosses_host[m], b.outputs[m].target == kIgnoreTarget ? 0.0f : 1.0f / 6.0f) << "row " << m;
    dloss_sum += in.dlosses_host[m];
  }
  EXPECT_NEAR(dloss_sum, 1.0, 1e-6) << "the loss is the mean over rows with a target";
  // The head's scatter plan: every m once, under its own row; the twice-requested row has one group.
  const cuda::RowScatterPlan& plan = in.out_plan_host;
  ASSERT_EQ(plan.rows.size(), size_t(M - 1));
  ASSERT_EQ(plan.offsets.size(), size_t(M));
  std::vector<int> seen(M, 0);
  for (size_t r = 0; r < plan.rows.size(); ++r)
    for (int k = plan.offsets[r]; k < plan.offsets[r + 1]; ++k) {
      EXPECT_EQ(in.out_rows_host[plan.srcs[k]], plan.rows[r]) << "plan row " << r;
      ++seen[plan.srcs[k]];
    }
  EXPECT_EQ(seen, std::vector<int>(M, 1));
}

TEST(CudaLlamaStepHost, SegmentsGroupConsecutiveSequencesOfOneTask) {
  cuda::MultiLoraCuda lora;
  lora.tasks["ctr"];
  lora.tasks["seq"];
  auto segments = cuda::multilora_cuda_segments(lora, {"ctr", "ctr", "seq", "ctr"}, 5);
  ASSERT_EQ(segments.size(), 3u);
  EXPECT_EQ(std::tuple(segments[0].begin, segments[0].end, segments[0].task), std::tuple(0, 10, "ctr"));
  EXPECT_EQ(std::tuple(segments[1].begin, segments[1].end, segments[1].task), std::tuple(10, 15, "seq"));
  EXPECT_EQ(std::tuple(segments[2].begin, segments[2].end, segments[2].task), std::tuple(15, 20, "ctr"));
  expect_error_containing([&] { cuda::multilora_cuda_segments(lora, {"ctr", "rating"}, 5); }, "task 'rating'");
}

TEST_F(CudaLlamaStep, LossLogitsAndGradientsMatchCpu) {
  for (const LlamaConfig& cfg : {tiny_config(), odd_config()})
    for (bool dropout : {false, true}) {
      SCOPED_TRACE(::testing::PrintToString(cfg) + (dropout ? ", dropout" : ", no dropout"));
      LlamaModel model = tiny_model(cfg, {"ctr", "rating", "seq"}, 41);
      if (dropout) {
        model.lora.shared_spec.dropout = 0.1f;
        model.lora.task_spec.dropout = 0.3f;
      }
      round_model_to_bf16(model);
      LlamaBatch batch = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 5);
      round_to_bf16(batch.soft_vectors);
      const CpuStep want = cpu_step(model, batch);
      int nonzero = 0;
      for (const auto& [name, g] : want.grads) nonzero += max_abs(g) > 0.0;
      ASSERT_GT(nonzero, 20) << "the CPU gradients should reach most adapters";

      cuda::LlamaModelCuda dev = cuda::llama_model_cuda_upload(model);
      cuda::LlamaActsCuda acts;
      const float loss = cuda::llama_cuda_forward(dev, batch, acts, {true, 11}, *ctx_);
      cuda::multilora_cuda_zero_grad(dev.lora, stream());
      cuda::llama_cuda_backward(dev, acts, *ctx_);

      EXPECT_NEAR(loss, want.loss, 2e-2 * std::fabs(want.loss));
      expect_near_scaled(cuda::llama_cuda_logits(acts, *ctx_), want.logits, 3e-2, 3e-2, "logits");
      expect_near_scaled(cuda::llama_cuda_d_soft(acts, *ctx_), want.d_soft, 5e-2, 7.5e-2, "d_soft");
      cuda::multilora_cuda_grads_download(dev.lora, model.lora, stream());
      const std::vector<LoraParam> got = multilora_params(model.lora);
      ASSERT_EQ(got.size(), want.grads.size());
      for (size_t i = 0; i < got.size(); ++i) {
        ASSERT_EQ(got[i].name, want.grads[i].first);
        expect_near_scaled(to_floats(got[i].grad), want.grads[i].second, 5e-2, 7.5e-2, got[i].name);
      }
    }
}

// Adapter gradients accumulate (+=) over backward calls, as on the CPU (gradient accumulation).
TEST_F(CudaLlamaStep, BackwardAccumulatesAdapterGradients) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 43);
  const LlamaBatch batch = tiny_batch(cfg, {"seq", "ctr", "ctr"}, 6);
  cuda::LlamaModelCuda dev = cuda::llama_model_cuda_upload(model);
  cuda::LlamaActsCuda acts;
  cuda::llama_cuda_forward(dev, batch, acts, {}, *ctx_);
  cuda::llama_cuda_backward(dev, acts, *ctx_);
  cuda::multilora_cuda_grads_download(dev.lora, model.lora, stream());
  std::vector<std::vector<float>> once;
  for (const LoraParam& p : multilora_params(model.lora)) once.push_back(to_floats(p.grad));
  ASSERT_GT(max_abs(once.front()), 0.0) << "the first backward left the gradients at zero";
  cuda::llama_cuda_backward(dev, acts, *ctx_);
  cuda::multilora_cuda_grads_download(dev.lora, model.lora, stream());
  const std::vector<LoraParam> twice = multilora_params(model.lora);
  for (size_t i = 0; i < twice.size(); ++i) {
    std::vector<float> doubled(once[i]);
    for (float& x : doubled) x *= 2.0f;
    expect_near_scaled(to_floats(twice[i].grad), doubled, 1e-3, 1e-3, twice[i].name);
  }
}

// The batch padded to T > batch.T with every request made twice: a larger shape in N, M and R.
LlamaBatch batch_widened(const LlamaBatch& b, int T) {
  LlamaBatch w = b;
  w.T = T;
  w.tokens.assign(size_t(b.B) * T, 1000);  // past each length: ignored
  for (int s = 0; s < b.B; ++s)
    for (int t = 0; t < b.T; ++t) w.tokens[size_t(s) * T + t] = b.tokens[size_t(s) * b.T + t];
  w.outputs.insert(w.outputs.end(), b.outputs.begin(), b.outputs.end());
  return w;
}

// Activations are kept across steps and only grow (DeviceBuffer::resize): a step after a larger
// one must give the same bits as the same step on fresh activations (nothing reads stale rows).
TEST_F(CudaLlamaStep, SmallerBatchAfterLargerMatchesFreshActivations) {
  const LlamaConfig cfg = odd_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 44);
  const LlamaBatch batch = tiny_batch(cfg, {"ctr", "seq", "ctr"}, 7);
  cuda::LlamaModelCuda dev = cuda::llama_model_cuda_upload(model);
  auto run = [&](cuda::LlamaActsCuda& acts, const LlamaBatch& b) {
    cuda::multilora_cuda_zero_grad(dev.lora, stream());
    const float loss = cuda::llama_cuda_forward(dev, b, acts, {true, 5}, *ctx_);
    cuda::llama_cuda_backward(dev, acts, *ctx_);
    cuda::multilora_cuda_grads_download(dev.lora, model.lora, stream());
    std::vector<float> grads;
    for (const LoraParam& p : multilora_params(model.lora)) {
      const std::vector<float> g = to_floats(p.grad);
      grads.insert(grads.end(), g.begin(), g.end());
    }
    return std::tuple(loss, cuda::llama_cuda_logits(acts, *ctx_), cuda::llama_cuda_d_soft(acts, *ctx_), grads);
  };
  cuda::LlamaActsCuda fresh, reused;
  const auto want = run(fresh, batch);
  run(reused, batch_widened(batch, 12));
  const auto got = run(reused, batch);
  EXPECT_EQ(std::get<0>(got), std::get<0>(want)) << "loss";
  EXPECT_EQ(std::get<1>(got), std::get<1>(want)) << "logits";
  EXPECT_EQ(std::get<2>(got), std::get<2>(want)) << "d_soft";
  EXPECT_EQ(std::get<3>(got), std::get<3>(want)) << "adapter gradients";
}

}  // namespace

#else

CKF_CUDA_TESTS_SKIPPED(CudaLlamaStep)

#endif
