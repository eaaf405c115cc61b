// Backward of the LLaMA + Multi-LoRA model: every LoRA gradient and every soft-token gradient
// against central finite differences of the double-precision reference (llama_reference.h).
#include <gtest/gtest.h>

#include <functional>

#include "core/llama_model.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

// Finite-difference step in double: truncation ~h^2, rounding ~1e-16/h, both far below the
// fp32 error of the analytic gradients being checked.
constexpr double kStep = 1e-5;

double fd(const std::function<double()>& loss, double& x) {
  const double x0 = x;
  x = x0 + kStep;
  const double lp = loss();
  x = x0 - kStep;
  const double lm = loss();
  x = x0;
  return (lp - lm) / (2 * kStep);
}

// max |analytic - fd| must stay within tol_rel * max |fd| over the tensor (plus 1e-7 for
// tensors whose gradient is tiny everywhere): fp32 backward against a double reference.
void expect_grad_close(const std::string& what, const float* analytic, const Vec& numeric, double tol_rel) {
  double err = 0.0, scale = 0.0;
  size_t worst = 0;
  for (size_t i = 0; i < numeric.size(); ++i) {
    double e = std::abs(analytic[i] - numeric[i]);
    if (e > err) err = e, worst = i;
    scale = std::max(scale, std::abs(numeric[i]));
  }
  EXPECT_GT(scale, 0.0) << what << ": gradient is zero everywhere, the check would be vacuous";
  EXPECT_LE(err, tol_rel * scale + 1e-7) << what << " worst entry " << worst << ": analytic " << analytic[worst]
                                         << " vs finite difference " << numeric[worst] << " (max |fd| " << scale << ")";
}

struct GradCase {
  LlamaConfig cfg;
  bool dropout;  // replay the training masks in the reference
};

void PrintTo(const GradCase& c, std::ostream* os) {
  PrintTo(c.cfg, os);
  *os << (c.dropout ? " with dropout" : "");
}

class LlamaGrad : public ::testing::TestWithParam<GradCase> {};

TEST_P(LlamaGrad, LoraAndSoftGradientsMatchFiniteDifferences) {
  const GradCase gc = GetParam();
  LlamaModel model = tiny_model(gc.cfg, {"ctr", "seq"}, 21);
  if (gc.dropout) {
    model.lora.shared_spec.dropout = 0.3f;
    model.lora.task_spec.dropout = 0.2f;
  }
  LlamaBatch batch = tiny_batch(gc.cfg, {"seq", "ctr", "ctr"}, 9);
  LlamaActs acts;
  llama_forward(model, batch, acts, {gc.dropout, 1234});
  multilora_zero_grad(model.lora);
  Tensor d_soft;
  llama_backward(model, batch, acts, &d_soft);

  RefModel ref = ref_from_model(model);
  Vec soft = to_vec(batch.soft_vectors);
  const RefMasks masks{gc.dropout ? &acts : nullptr, batch.T};
  auto loss = [&] { return ref_forward(ref, batch, soft, masks).loss; };
  ASSERT_NEAR(loss(), acts.loss, 1e-5 * acts.loss);

  // Adapters in the order multilora_params lists them: shared first, then tasks by name.
  std::vector<std::pair<std::string, const LoraSet*>> sets = {{"shared", &model.lora.shared}};
  for (const auto& [name, set] : model.lora.tasks) sets.push_back({name, &set});
  int checked = 0;
  for (const auto& [name, set] : sets)
    for (int l = 0; l < gc.cfg.n_layers; ++l)
      for (int t = 0; t < kLoraTargets; ++t) {
        const auto& a = set->layers[l][t];
        if (!a) continue;
        RefAdapter& ra = ref.adapters.at({name, l, t});
        const std::string where = name + " layer " + std::to_string(l) + " " + lora_target_name(LoraTarget(t));
        Vec nA(ra.A.size()), nB(ra.B.size());
        for (size_t i = 0; i < ra.A.size(); ++i) nA[i] = fd(loss, ra.A[i]);
        for (size_t i = 0; i < ra.B.size(); ++i) nB[i] = fd(loss, ra.B[i]);
        expect_grad_close(where + " dA", a->dA.data<const float>(), nA, 1e-4);
        expect_grad_close(where + " dB", a->dB.data<const float>(), nB, 1e-4);
        ++checked;
      }
  EXPECT_EQ(checked, gc.cfg.n_layers * (5 + 2 * 3));

  Vec nsoft(soft.size());
  for (size_t i = 0; i < soft.size(); ++i) nsoft[i] = fd(loss, soft[i]);
  ASSERT_EQ(d_soft.shape(), batch.soft_vectors.shape());
  expect_grad_close("soft tokens", d_soft.data<const float>(), nsoft, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Shapes, LlamaGrad,
                         ::testing::Values(GradCase{tiny_config(), false}, GradCase{odd_config(), false},
                                           GradCase{tiny_config(), true}));

TEST(LlamaGrad, GradientsAccumulateAcrossBackwardCalls) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 21);
  LlamaBatch batch = tiny_batch(cfg, {"seq", "ctr", "ctr"}, 9);
  LlamaActs acts;
  llama_forward(model, batch, acts, {});
  multilora_zero_grad(model.lora);
  llama_backward(model, batch, acts, nullptr);
  std::vector<Tensor> once;
  for (const LoraParam& p : multilora_params(model.lora)) once.push_back(p.grad.clone());
  llama_backward(model, batch, acts, nullptr);
  size_t i = 0;
  for (const LoraParam& p : multilora_params(model.lora)) {
    for (int64_t j = 0; j < p.grad.numel(); ++j)
      ASSERT_FLOAT_EQ(p.grad.data<const float>()[j], 2 * once[i].data<const float>()[j]) << p.name;
    ++i;
  }
}

TEST(LlamaGrad, NoTargetsGiveZeroLossAndZeroGradients) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 21);
  LlamaBatch batch = tiny_batch(cfg, {"seq", "ctr", "ctr"}, 9);
  for (auto outputs : {std::vector<LogitRequest>{}, std::vector<LogitRequest>{{0, 1, kIgnoreTarget}}}) {
    batch.outputs = outputs;
    LlamaActs acts;
    EXPECT_EQ(llama_forward(model, batch, acts, {}), 0.0f);
    multilora_zero_grad(model.lora);
    Tensor d_soft;
    llama_backward(model, batch, acts, &d_soft);
    for (const LoraParam& p : multilora_params(model.lora))
      for (int64_t i = 0; i < p.grad.numel(); ++i) ASSERT_EQ(p.grad.data<const float>()[i], 0.0f) << p.name;
    for (int64_t i = 0; i < d_soft.numel(); ++i) ASSERT_EQ(d_soft.data<const float>()[i], 0.0f);
  }
}

}  // namespace
}  // namespace ckf::test
