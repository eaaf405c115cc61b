// The CKF step end to end on a tiny random model: the gradient it returns for the mapper and the
// LoRA adapters agrees with central finite differences of its own loss along random directions,
// and the batch plumbing (placeholders, teacher forcing, id checks) behaves as documented.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/check.h"
#include "core/ckf_step.h"
#include "ckf_step_test_util.h"
#include "llama_reference.h"

namespace ckf::test {
namespace {

constexpr int kDcf = 5;

// Three examples of two tasks: soft prompts with user and item placeholders, and one text-only.
std::vector<CkfExample> examples(int V) {
  auto tok = [V](int x) { return x % V; };
  return {
      {"ctr", 1, {0, 2, -1}, {tok(3), tok(4), tok(5), tok(6), tok(7)}, {{1, PlaceholderKind::user, 1}, {3, PlaceholderKind::item, 2}}, {tok(9)}},
      {"seq", 0, {1}, {tok(11), tok(12), tok(13)}, {{0, PlaceholderKind::user, 0}, {2, PlaceholderKind::item, 3}}, {tok(14), tok(15)}},
      {"ctr", 2, {}, {tok(16), tok(17), tok(18), tok(19)}, {}, {tok(20), tok(21), tok(22)}},
  };
}

struct Direction {
  std::vector<std::pair<Tensor, std::vector<float>>> parts;  // (parameter, its direction)
};

double loss_at(LlamaModel& model, Mapper& mapper, const CfTables& cf, const std::vector<CkfExample>& ex,
               const Direction& dir, double h) {
  for (auto& [t, v] : dir.parts)
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] += float(h * v[i]);
  CkfStepActs acts;
  double loss = ckf_forward(model, mapper, cf, ex, acts, {});
  for (auto& [t, v] : dir.parts)
    for (size_t i = 0; i < v.size(); ++i) t.data<float>()[i] -= float(h * v[i]);
  return loss;
}

}  // namespace

TEST(CkfStep, GradientsMatchDirectionalFiniteDifferences) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 21);
  Mapper mapper = test::random_mapper(kDcf, cfg.d_model);
  const CfTables cf = test::random_cf(3, 4, kDcf, 8);
  const auto ex = examples(cfg.vocab);

  CkfStepActs acts;
  ckf_forward(model, mapper, cf, ex, acts, {});
  ckf_backward(model, mapper, acts);

  std::mt19937_64 rng(5);
  std::normal_distribution<float> g(0.0f, 1.0f);
  auto check = [&](const char* what, Direction dir, const std::vector<Tensor>& grads) {
    double analytic = 0;
    for (size_t k = 0; k < grads.size(); ++k)
      for (size_t i = 0; i < dir.parts[k].second.size(); ++i)
        analytic += double(grads[k].data<const float>()[i]) * dir.parts[k].second[i];
    // fp32 losses: h = 1e-3 keeps rounding (~1e-7 / h) and truncation (~h^2) near 1e-4; allow 1e-2.
    const double h = 1e-3;
    const double fd = (loss_at(model, mapper, cf, ex, dir, h) - loss_at(model, mapper, cf, ex, dir, -h)) / (2 * h);
    EXPECT_NEAR(analytic, fd, 1e-2 * std::max(1.0, std::fabs(fd))) << what;
    EXPECT_GT(std::fabs(analytic), 1e-4) << what << ": a zero gradient would pass trivially";
  };
  Direction mdir;
  std::vector<Tensor> mgrads;
  for (Param* p : mapper_params(mapper)) {
    std::vector<float> v(p->value.numel());
    for (float& x : v) x = g(rng);
    mdir.parts.push_back({p->value, v});
    mgrads.push_back(p->grad);
  }
  check("mapper", mdir, mgrads);
  Direction ldir;
  std::vector<Tensor> lgrads;
  for (const LoraParam& p : multilora_params(model.lora)) {
    std::vector<float> v(p.param.numel());
    for (float& x : v) x = g(rng);
    ldir.parts.push_back({p.param, v});
    lgrads.push_back(p.grad);
  }
  check("lora", ldir, lgrads);
}

TEST(CkfStep, TextOnlyBatchLeavesTheMapperWithoutGradient) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 2);
  Mapper mapper = test::random_mapper(kDcf, cfg.d_model);
  const CfTables cf = test::random_cf(3, 4, kDcf, 1);
  std::vector<CkfExample> ex = {examples(cfg.vocab)[2]};
  CkfStepActs acts;
  ckf_forward(model, mapper, cf, ex, acts, {});
  ckf_backward(model, mapper, acts);
  for (Param* p : mapper_params(mapper))
    for (int64_t i = 0; i < p->grad.numel(); ++i) ASSERT_EQ(p->grad.data<const float>()[i], 0.0f) << p->name;
  // Teacher forcing: 3 answer tokens give 3 logit rows, at the last prompt position and after.
  ASSERT_EQ(acts.batch.outputs.size(), 3u);
  EXPECT_EQ(acts.batch.outputs[0].pos, 3);
  EXPECT_EQ(acts.batch.outputs[2].pos, 5);
  EXPECT_EQ(acts.batch.lengths[0], 6);
}

// The layout both paths share: user tokens take the first soft rows, item tokens the rest, each
// in example order; every user token carries its example's history padded with -1 to the longest.
TEST(CkfStep, LayoutPutsUserTokensFirstWithPaddedHistories) {
  const LlamaConfig cfg = tiny_config();
  const auto ex = examples(cfg.vocab);
  LlamaBatch b;
  CkfSoftIds ids;
  ckf_batch_layout(ex, CkfOutputs::teacher_forced, 3, 4, b, ids);
  ASSERT_EQ(b.soft.size(), 4u);
  const std::vector<std::pair<int, int>> want_soft = {{0, 1}, {1, 0}, {0, 3}, {1, 2}};  // users, then items
  for (size_t s = 0; s < b.soft.size(); ++s) EXPECT_EQ(std::pair(b.soft[s].seq, b.soft[s].pos), want_soft[s]) << s;
  EXPECT_EQ(ids.users, (std::vector<int32_t>{1, 0}));
  EXPECT_EQ(ids.items, (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(ids.history_len, 3);
  EXPECT_EQ(ids.history, (std::vector<int32_t>{0, 2, -1, 1, -1, -1}));
  EXPECT_EQ(b.soft_vectors.ndim(), 0) << "the layout leaves the soft vectors to the mapper";
}

TEST(CkfStep, RejectsIdsOutsideTheCfTables) {
  const LlamaConfig cfg = tiny_config();
  LlamaModel model = tiny_model(cfg, {"ctr", "seq"}, 2);
  Mapper mapper = test::random_mapper(kDcf, cfg.d_model);
  const CfTables cf = test::random_cf(3, 4, kDcf, 1);
  auto ex = examples(cfg.vocab);
  ex[1].placeholders[1].id = 4;
  CkfStepActs acts;
  try {
    ckf_forward(model, mapper, cf, ex, acts, {});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("example 1: placeholder item id 4 outside [0, 4)"), std::string::npos) << e.what();
  }
}

}  // namespace ckf::test
