// CF models: propagation against a dense double A_hat, BPR gradients (MF and LightGCN, through
// the propagation) against central finite differences in double, thread-count independence, and
// learning on a dataset with planted clusters against a shuffled-interactions control.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/cf_eval.h"
#include "core/cf_graph.h"
#include "core/cf_model.h"
#include "core/cf_synthetic.h"
#include "core/check.h"

using namespace ckf;

namespace {

// 5 users, 4 items; item 3 and user 4 have no edges; the (0, 1) duplicate must count once.
CfGraph tiny_graph() {
  std::vector<CfPair> p{{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 0}, {2, 2}, {3, 1}, {0, 1}};
  return cf_graph_build(5, 4, p);
}

std::vector<double> random_vec(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> nd(0.0, 0.7);
  std::vector<double> v(n);
  for (double& x : v) x = nd(rng);
  return v;
}

std::vector<CfPair> pairs_of(const CfDataset& d) {
  std::vector<CfPair> p;
  for (const CfInteraction& x : d.train) p.push_back({x.user, x.item});
  return p;
}

}  // namespace

TEST(CfGraph, PropagateMatchesDenseNormalisedAdjacency) {
  CfGraph g = tiny_graph();
  EXPECT_EQ(g.nnz(), 7);
  const int64_t n = 9, dim = 3;
  // Dense A over users then items, degrees, A_hat[a][b] = A[a][b] / sqrt(deg a deg b).
  std::vector<double> a(n * n, 0.0), deg(n, 0.0);
  for (auto [u, i] : std::vector<CfPair>{{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 0}, {2, 2}, {3, 1}})
    a[u * n + 5 + i] = a[(5 + i) * n + u] = 1.0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) deg[r] += a[r * n + c];
  std::vector<double> x = random_vec(n * dim, 1), out(n * dim);
  cf_graph_propagate(g, x.data(), out.data(), dim, 2);
  for (int64_t r = 0; r < n; ++r)
    for (int64_t k = 0; k < dim; ++k) {
      double want = 0;
      for (int64_t c = 0; c < n; ++c)
        if (a[r * n + c] != 0) want += x[c * dim + k] / std::sqrt(deg[r] * deg[c]);
      EXPECT_NEAR(out[r * dim + k], want, 1e-14) << "node " << r << " col " << k;
    }
  EXPECT_TRUE(cf_graph_has(g, 1, 2));
  EXPECT_FALSE(cf_graph_has(g, 1, 0));
  std::vector<CfPair> bad{{0, 4}};
  EXPECT_THROW(cf_graph_build(5, 4, bad), Error);
}

// E = mean_{k=0..L} A_hat^k E0 with A_hat the dense normalised adjacency of the test above; MF
// leaves E0 unchanged.
TEST(CfModel, ForwardIsMeanOfLayerEmbeddings) {
  CfGraph g = tiny_graph();
  const int64_t n = 9, dim = 2;
  std::vector<double> a(n * n, 0.0), deg(n, 0.0);
  for (auto [u, i] : std::vector<CfPair>{{0, 0}, {0, 1}, {1, 1}, {1, 2}, {2, 0}, {2, 2}, {3, 1}})
    a[u * n + 5 + i] = a[(5 + i) * n + u] = 1.0;
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < n; ++c) deg[r] += a[r * n + c];
  std::vector<double> ego = random_vec(n * dim, 2), out(n * dim), scratch;
  for (int layers : {0, 1, 3}) {
    CfConfig cfg;
    cfg.model = CfModel::lightgcn, cfg.layers = layers, cfg.dim = dim;
    cf_forward(g, cfg, ego.data(), out.data(), scratch);
    std::vector<double> cur = ego, sum = ego;
    for (int k = 0; k < layers; ++k) {
      std::vector<double> next(n * dim, 0.0);
      for (int64_t r = 0; r < n; ++r)
        for (int64_t c = 0; c < n; ++c)
          if (a[r * n + c] != 0)
            for (int64_t j = 0; j < dim; ++j) next[r * dim + j] += cur[c * dim + j] / std::sqrt(deg[r] * deg[c]);
      cur = next;
      for (size_t x = 0; x < sum.size(); ++x) sum[x] += cur[x];
    }
    for (size_t x = 0; x < sum.size(); ++x) EXPECT_NEAR(out[x], sum[x] / (layers + 1), 1e-14) << "layers " << layers;
    cfg.model = CfModel::mf;
    cf_forward(g, cfg, ego.data(), out.data(), scratch);
    EXPECT_EQ(out, ego);
  }
}

// Tolerance: central differences with h = 1e-5 on a smooth loss in double have error ~1e-10.
TEST(CfModel, BprGradientMatchesFiniteDifferences) {
  CfGraph g = tiny_graph();
  // Repeated users and items in one batch exercise the accumulation; item 3 has no edges.
  std::vector<CfTriple> batch{{0, 0, 2}, {1, 1, 3}, {2, 2, 1}, {0, 1, 3}, {3, 1, 0}};
  for (CfModel model : {CfModel::mf, CfModel::lightgcn}) {
    for (int layers : {1, 2, 3}) {
      for (int64_t dim : {1, 3}) {
        CfConfig cfg;
        cfg.model = model, cfg.layers = layers, cfg.dim = dim, cfg.reg = 0.3f, cfg.threads = 2;
        const size_t n = size_t(9 * dim);
        std::vector<double> ego = random_vec(n, 10 + layers + dim), grad(n);
        cf_bpr_loss_grad<double>(g, cfg, ego.data(), batch, grad.data());
        const double h = 1e-5;
        for (size_t x = 0; x < n; ++x) {
          std::vector<double> e = ego, scratch(n);
          e[x] = ego[x] + h;
          double lp = cf_bpr_loss_grad<double>(g, cfg, e.data(), batch, scratch.data());
          e[x] = ego[x] - h;
          double lm = cf_bpr_loss_grad<double>(g, cfg, e.data(), batch, scratch.data());
          EXPECT_NEAR(grad[x], (lp - lm) / (2 * h), 1e-8)
              << cf_model_name(model) << " layers " << layers << " dim " << dim << " element " << x;
        }
      }
    }
  }
}

TEST(CfModel, ResultIsIndependentOfThreadCount) {
  CfSyntheticConfig sc;
  sc.n_users = 61, sc.n_items = 150, sc.n_clusters = 3, sc.per_user = 9, sc.topk_negatives = 20;
  CfDataset d = cf_synthetic_dataset(sc);
  CfGraph g = cf_graph_build(d.n_users, d.n_items, pairs_of(d));
  CfConfig cfg;
  cfg.model = CfModel::lightgcn, cfg.dim = 7, cfg.layers = 2, cfg.epochs = 2, cfg.batch_size = 37, cfg.seed = 9;
  cfg.threads = 1;
  CfEmbeddings one = cf_train(g, cfg, nullptr);
  cfg.threads = 3;
  CfEmbeddings three = cf_train(g, cfg, nullptr);
  EXPECT_EQ(one.user_emb, three.user_emb);
  EXPECT_EQ(one.item_emb, three.item_emb);
  cfg.seed = 10;
  EXPECT_NE(cf_train(g, cfg, nullptr).user_emb, one.user_emb);
}

// Planted clusters: both models must rank held-out positives well above random items (AUC
// > 0.8, HR@10 well above the 10% of a random ranking); training on interactions whose items were
// replaced by random ones must stay at chance. The training loss must at least halve (|AUC - 0.5| < 0.1 on 1200 test pairs).
TEST(CfModel, LearnsPlantedClustersAndShuffledControlStaysAtChance) {
  CfSyntheticConfig sc;
  sc.n_users = 300, sc.n_items = 240, sc.n_clusters = 6, sc.per_user = 20;
  CfDataset d = cf_synthetic_dataset(sc);
  std::vector<CfPair> real = pairs_of(d), shuffled = real;
  std::mt19937 rng(4);
  std::uniform_int_distribution<int32_t> any_item(0, int32_t(d.n_items - 1));
  for (CfPair& p : shuffled) p.item = any_item(rng);
  for (CfModel model : {CfModel::mf, CfModel::lightgcn}) {
    CfConfig cfg;
    cfg.model = model, cfg.dim = 16, cfg.layers = 2, cfg.epochs = 30, cfg.batch_size = 256, cfg.lr = 0.01f;
    cfg.threads = 2;
    std::vector<double> losses;
    CfEmbeddings emb = cf_train(cf_graph_build(d.n_users, d.n_items, real), cfg,
                                [&](int, double loss, const CfEmbeddings&) { losses.push_back(loss); });
    // LightGCN ranks well from propagation alone, so also require that training fits the data.
    EXPECT_LT(losses.back(), 0.5 * losses.front()) << cf_model_name(model);
    CfEvalResult r = cf_evaluate(emb, nullptr, d.test, 10);
    EXPECT_GT(r.auc, 0.8) << cf_model_name(model);
    EXPECT_GT(r.uauc, 0.75) << cf_model_name(model);
    EXPECT_GT(r.hr, 0.3) << cf_model_name(model);
    CfEvalResult c =
        cf_evaluate(cf_train(cf_graph_build(d.n_users, d.n_items, shuffled), cfg, nullptr), nullptr, d.test, 10);
    EXPECT_NEAR(c.auc, 0.5, 0.1) << cf_model_name(model) << " control";
  }
}

TEST(CfModel, BadConfigIsAnError) {
  CfGraph g = tiny_graph();
  CfConfig cfg;
  cfg.dim = 0;
  EXPECT_THROW(cf_train(g, cfg, nullptr), Error);
  EXPECT_THROW(cf_model_parse("svd"), Error);
  // User 0 interacted with every item of a 2-item graph: no negative exists.
  std::vector<CfPair> full{{0, 0}, {0, 1}, {1, 0}};
  CfConfig ok;
  EXPECT_THROW(cf_train(cf_graph_build(2, 2, full), ok, nullptr), Error);
}
