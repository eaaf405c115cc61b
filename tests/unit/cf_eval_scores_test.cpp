// CF-only scoring of `ckf eval` samples (core/cf_eval.h cf_eval_scores): every score against a
// double-precision dot product / regressor written here on random embeddings of odd sizes, and
// the metrics of a small case worked out by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "core/cf_eval.h"
#include "test_util.h"

namespace ckf::test {
namespace {

CfEmbeddings random_embeddings(int64_t users, int64_t items, int64_t dim, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> n(0.0f, 1.0f);
  CfEmbeddings e;
  e.model = "mf", e.n_users = users, e.n_items = items, e.dim = dim;
  for (int64_t k = 0; k < users * dim; ++k) e.user_emb.push_back(n(rng));
  for (int64_t k = 0; k < items * dim; ++k) e.item_emb.push_back(n(rng));
  return e;
}

double dot_ref(const CfEmbeddings& e, int32_t u, int32_t i) {
  double s = 0;
  for (int64_t k = 0; k < e.dim; ++k) s += double(e.user_emb[u * e.dim + k]) * e.item_emb[i * e.dim + k];
  return s;
}

// w . [e_u * e_i, e_u, e_i, 1], the regressor's documented feature order.
double regress_ref(const CfRegressor& r, const CfEmbeddings& e, int32_t u, int32_t i) {
  const int64_t d = e.dim;
  double p = r.w[3 * d];
  for (int64_t k = 0; k < d; ++k) {
    const double eu = e.user_emb[u * d + k], ei = e.item_emb[i * d + k];
    p += r.w[k] * eu * ei + r.w[d + k] * eu + r.w[2 * d + k] * ei;
  }
  return p;
}

EvalSample ids_sample(int32_t user, std::vector<int32_t> items, float label, bool listed) {
  EvalSample s;
  s.user = user, s.label = label, s.items = std::move(items);
  s.candidates = listed ? int(s.items.size()) : 0;
  return s;
}

TEST(CfEvalScores, EqualDoubleReferenceForEveryKindAndShape) {
  const float lowest = std::numeric_limits<float>::lowest();
  for (int64_t dim : {1, 3, 8, 13}) {
    const CfEmbeddings e = random_embeddings(7, 11, dim, 100 + uint64_t(dim));
    CfRegressor reg;
    reg.dim = dim;
    std::mt19937_64 rng(7 * uint64_t(dim));
    std::uniform_real_distribution<double> w(-1.0, 1.0);
    for (int64_t k = 0; k < 3 * dim + 1; ++k) reg.w.push_back(w(rng));
    std::uniform_int_distribution<int32_t> user(0, 6), item(0, 10);
    for (EvalKind kind : {EvalKind::ctr, EvalKind::rating, EvalKind::sequential, EvalKind::topk}) {
      const bool listed = kind == EvalKind::sequential || kind == EvalKind::topk;
      EvalInput in;
      in.kind = kind;
      in.width = listed ? 5 : 1;
      for (int i = 0; i < 9; ++i) {
        std::vector<int32_t> items(listed ? size_t(2 + i % 4) : 1);  // 2..5 real candidates of width 5
        for (int32_t& x : items) x = item(rng);
        in.samples.push_back(ids_sample(user(rng), items, 0, listed));
      }
      const std::vector<float> got = cf_eval_scores(e, reg, in);
      ASSERT_EQ(got.size(), in.samples.size() * size_t(in.width));
      for (size_t i = 0; i < in.samples.size(); ++i) {
        const EvalSample& s = in.samples[i];
        for (int c = 0; c < in.width; ++c) {
          const float g = got[i * in.width + c];
          if (size_t(c) >= s.items.size()) {
            EXPECT_EQ(g, lowest) << "padding past the real candidates, sample " << i;
            continue;
          }
          const double want = kind == EvalKind::rating ? regress_ref(reg, e, s.user, s.items[c])
                                                       : dot_ref(e, s.user, s.items[c]);
          EXPECT_NEAR(g, want, 1e-5 * (1 + std::fabs(want))) << eval_kind_name(kind) << " dim " << dim << " sample " << i;
        }
      }
    }
  }
}

double metric(const EvalTaskResult& r, const std::string& name) {
  for (const auto& [n, v] : r.groups[0].metrics)
    if (n == name) return v;
  ADD_FAILURE() << "no metric " << name;
  return 0;
}

// dim 2: users (1, 2), (0, 1); items (1, 0), (0, 1), (-1, 1).
CfEmbeddings hand_embeddings() {
  CfEmbeddings e;
  e.model = "mf", e.n_users = 2, e.n_items = 3, e.dim = 2;
  e.user_emb = {1, 2, 0, 1};
  e.item_emb = {1, 0, 0, 1, -1, 1};
  return e;
}

TEST(CfEvalScores, MetricsOfAHandWorkedCase) {
  const CfEmbeddings e = hand_embeddings();
  CfRegressor reg;  // rating = e_u[0] * e_i[0] + 3
  reg.dim = 2;
  reg.w = {1, 0, 0, 0, 0, 0, 3};

  // ctr scores: (u0, i0) 1 pos, (u0, i1) 2 neg, (u0, i2) 1 pos, (u1, i2) 1 neg, (u1, i1) 1 pos.
  // AUC over 3 pos x 2 neg pairs: pos 1 vs neg 2 loses, pos 1 vs neg 1 ties (1/2): (0 + 3 * 0.5) / 6.
  EvalInput ctr;
  ctr.kind = EvalKind::ctr;
  ctr.samples = {ids_sample(0, {0}, 1, false), ids_sample(0, {1}, 0, false), ids_sample(0, {2}, 1, false),
                 ids_sample(1, {2}, 0, false), ids_sample(1, {1}, 1, false)};
  const EvalTaskResult c = eval_metrics(ctr, cf_eval_scores(e, reg, ctr));
  EXPECT_NEAR(metric(c, "auc"), 0.25, 1e-12);
  // UAUC, users unweighted: user 0 has pos (1, 1) vs neg 2: 0; user 1 pos 1 vs neg 1: 0.5.
  EXPECT_NEAR(metric(c, "uauc"), (0.0 + 0.5) / 2, 1e-12);

  // rating: (u0, i0) -> 4 vs 5, (u0, i2) -> 2 vs 2, (u1, i0) -> 3 vs 2.5.
  EvalInput rating;
  rating.kind = EvalKind::rating;
  rating.samples = {ids_sample(0, {0}, 5, false), ids_sample(0, {2}, 2, false), ids_sample(1, {0}, 2.5f, false)};
  const EvalTaskResult r = eval_metrics(rating, cf_eval_scores(e, reg, rating));
  EXPECT_NEAR(metric(r, "rmse"), std::sqrt((1.0 + 0.0 + 0.25) / 3), 1e-6);
  EXPECT_NEAR(metric(r, "mae"), 1.5 / 3, 1e-6);

  // sequential, width 3: u0 over (i2, i1, i0) = (1, 2, 1), true i1: rank 1. u1 over (i0, i2) = (0, 1)
  // plus a padded slot, true i0: rank 2 (the padding never outranks it).
  EvalInput seq;
  seq.kind = EvalKind::sequential;
  seq.width = 3;
  seq.samples = {ids_sample(0, {2, 1, 0}, 1, true), ids_sample(1, {0, 2}, 0, true)};
  const EvalTaskResult s = eval_metrics(seq, cf_eval_scores(e, reg, seq));
  EXPECT_NEAR(metric(s, "hr@1"), 0.5, 1e-12);
  EXPECT_NEAR(metric(s, "hr@5"), 1.0, 1e-12);
  EXPECT_NEAR(metric(s, "ndcg@5"), (1.0 + 1.0 / std::log2(3.0)) / 2, 1e-6);
}

TEST(CfEvalScores, RefusesSamplesWithoutTheirItemIds) {
  const CfEmbeddings e = hand_embeddings();
  CfRegressor reg;
  reg.dim = 2;
  reg.w.assign(7, 0.0);
  EvalInput in;
  in.kind = EvalKind::topk;
  in.width = 3;
  in.samples = {ids_sample(0, {0, 1}, 0, true)};
  in.samples[0].items.clear();  // e.g. an input built elsewhere that never read the ids
  EXPECT_NE(error_of([&] { cf_eval_scores(e, reg, in); }).find("topk sample 0: 0 item ids"), std::string::npos);
  in.samples[0].items = {0, 5};
  EXPECT_NE(error_of([&] { cf_eval_scores(e, reg, in); }).find("item 5 out of range"), std::string::npos);
}

}  // namespace
}  // namespace ckf::test
