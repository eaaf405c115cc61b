#include "core/cf_model.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

#include "core/check.h"
#include "core/parallel_for.h"

namespace ckf {

CfModel cf_model_parse(const std::string& name) {
  if (name == "mf") return CfModel::mf;
  if (name == "lightgcn") return CfModel::lightgcn;
  CKF_FAIL("--model: unknown CF model '" << name << "', expected mf or lightgcn");
}

const char* cf_model_name(CfModel model) { return model == CfModel::mf ? "mf" : "lightgcn"; }

void cf_config_check(const CfConfig& cfg) {
  CKF_CHECK(cfg.dim >= 1 && cfg.dim <= 65536, "--dim " << cfg.dim << " must be in [1, 65536]");
  CKF_CHECK(cfg.layers >= 0 && cfg.layers <= 64, "--layers " << cfg.layers << " must be in [0, 64]");
  CKF_CHECK(cfg.epochs >= 0, "--epochs " << cfg.epochs << " must be >= 0");
  CKF_CHECK(cfg.batch_size >= 1, "--batch-size " << cfg.batch_size << " must be >= 1");
  CKF_CHECK(std::isfinite(cfg.lr) && cfg.lr > 0, "--lr " << cfg.lr << " must be a positive number");
  CKF_CHECK(std::isfinite(cfg.reg) && cfg.reg >= 0, "--reg " << cfg.reg << " must be >= 0");
  CKF_CHECK(std::isfinite(cfg.init_std) && cfg.init_std > 0, "init_std " << cfg.init_std << " must be > 0");
  CKF_CHECK(cfg.threads >= 1 && cfg.threads <= 1024, "--threads " << cfg.threads << " must be in [1, 1024]");
}

template <class T>
void cf_forward(const CfGraph& g, const CfConfig& cfg, const T* ego, T* final_emb, std::vector<T>& scratch) {
  int64_t n = (g.n_users + g.n_items) * cfg.dim;
  std::copy(ego, ego + n, final_emb);
  if (cfg.model == CfModel::mf || cfg.layers == 0) return;
  scratch.resize(2 * size_t(n));
  T* cur = scratch.data();      // (n_nodes, dim) A_hat^k E0
  T* next = scratch.data() + n;  // (n_nodes, dim)
  std::copy(ego, ego + n, cur);
  for (int k = 0; k < cfg.layers; ++k) {
    cf_graph_propagate(g, cur, next, cfg.dim, cfg.threads);
    std::swap(cur, next);
    parallel_for(cfg.threads, n, [&](int64_t b, int64_t e, int) {
      for (int64_t x = b; x < e; ++x) final_emb[x] += cur[x];
    });
  }
  T scale = T(1) / T(cfg.layers + 1);
  parallel_for(cfg.threads, n, [&](int64_t b, int64_t e, int) {
    for (int64_t x = b; x < e; ++x) final_emb[x] *= scale;
  });
}

template <class T>
static T dot(const T* a, const T* b, int64_t n) {
  T s = 0;
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}

// Adds, for every triple in order, its contribution to the rows a thread owns: every row belongs
// to one chunk of parallel_for, so it is accumulated by one thread in triple order.
template <class Fn>  // fn(triple index t, node rows of its user, pos, neg, owned rows [lo, hi))
static void scatter_by_row(const CfGraph& g, int threads, std::span<const CfTriple> batch, const Fn& fn) {
  int64_t n_nodes = g.n_users + g.n_items;
  parallel_for(threads, n_nodes, [&](int64_t lo, int64_t hi, int) {
    for (int64_t t = 0; t < int64_t(batch.size()); ++t) {
      const CfTriple& tr = batch[t];
      fn(t, int64_t(tr.user), g.n_users + tr.pos, g.n_users + tr.neg, lo, hi);
    }
  });
}

template <class T>
double cf_bpr_loss_grad(const CfGraph& g, const CfConfig& cfg, const T* ego, std::span<const CfTriple> batch,
                        T* grad_ego) {
  const int64_t d = cfg.dim, n = (g.n_users + g.n_items) * d, nb = int64_t(batch.size());
  CKF_CHECK(nb > 0, "BPR: empty batch");
  std::vector<T> final_emb(n), scratch;  // (n_nodes, dim)
  cf_forward(g, cfg, ego, final_emb.data(), scratch);

  // d loss / d (s_ui - s_uj) = -sigmoid(-(s_ui - s_uj)) / |B|; per-triple losses summed in order.
  std::vector<T> coef(nb), loss_t(nb);  // (nb)
  parallel_for(cfg.threads, nb, [&](int64_t b, int64_t e, int) {
    for (int64_t t = b; t < e; ++t) {
      const CfTriple& tr = batch[t];
      const T* eu = &final_emb[tr.user * d];
      T x = dot(eu, &final_emb[(g.n_users + tr.pos) * d], d) - dot(eu, &final_emb[(g.n_users + tr.neg) * d], d);
      loss_t[t] = x > 0 ? std::log1p(std::exp(-x)) : -x + std::log1p(std::exp(x));  // softplus(-x), stable
      coef[t] = -T(1) / (T(1) + std::exp(x)) / T(nb);
    }
  });

  std::vector<T> grad_final(n, T(0));  // (n_nodes, dim)
  scatter_by_row(g, cfg.threads, batch, [&](int64_t t, int64_t ru, int64_t ri, int64_t rj, int64_t lo, int64_t hi) {
    const T c = coef[t];
    const T *eu = &final_emb[ru * d], *ei = &final_emb[ri * d], *ej = &final_emb[rj * d];
    if (ru >= lo && ru < hi)
      for (int64_t k = 0; k < d; ++k) grad_final[ru * d + k] += c * (ei[k] - ej[k]);
    if (ri >= lo && ri < hi)
      for (int64_t k = 0; k < d; ++k) grad_final[ri * d + k] += c * eu[k];
    if (rj >= lo && rj < hi)
      for (int64_t k = 0; k < d; ++k) grad_final[rj * d + k] -= c * eu[k];
  });

  // E = P E0 with P symmetric (a mean of powers of A_hat), so d/dE0 = P d/dE.
  cf_forward(g, cfg, grad_final.data(), grad_ego, scratch);

  const T reg_scale = T(cfg.reg) / T(nb);
  scatter_by_row(g, cfg.threads, batch, [&](int64_t, int64_t ru, int64_t ri, int64_t rj, int64_t lo, int64_t hi) {
    for (int64_t r : {ru, ri, rj})
      if (r >= lo && r < hi)
        for (int64_t k = 0; k < d; ++k) grad_ego[r * d + k] += reg_scale * ego[r * d + k];
  });

  double loss = 0;
  for (int64_t t = 0; t < nb; ++t) {
    const CfTriple& tr = batch[t];
    T sq = dot(&ego[tr.user * d], &ego[tr.user * d], d) +
           dot(&ego[(g.n_users + tr.pos) * d], &ego[(g.n_users + tr.pos) * d], d) +
           dot(&ego[(g.n_users + tr.neg) * d], &ego[(g.n_users + tr.neg) * d], d);
    loss += double(loss_t[t]) + 0.5 * double(cfg.reg) * double(sq);
  }
  return loss / double(nb);
}

template void cf_forward<float>(const CfGraph&, const CfConfig&, const float*, float*, std::vector<float>&);
template void cf_forward<double>(const CfGraph&, const CfConfig&, const double*, double*, std::vector<double>&);
template double cf_bpr_loss_grad<float>(const CfGraph&, const CfConfig&, const float*, std::span<const CfTriple>, float*);
template double cf_bpr_loss_grad<double>(const CfGraph&, const CfConfig&, const double*, std::span<const CfTriple>,
                                         double*);

float cf_score(const CfEmbeddings& e, int32_t user, int32_t item) {
  CKF_CHECK(user >= 0 && user < e.n_users, "CF score: user " << user << " out of range [0, " << e.n_users << ")");
  CKF_CHECK(item >= 0 && item < e.n_items, "CF score: item " << item << " out of range [0, " << e.n_items << ")");
  return dot(&e.user_emb[user * e.dim], &e.item_emb[item * e.dim], e.dim);
}

static CfEmbeddings split_embeddings(const CfGraph& g, const CfConfig& cfg, const std::vector<float>& final_emb) {
  CfEmbeddings e;
  e.model = cf_model_name(cfg.model);
  e.n_users = g.n_users, e.n_items = g.n_items, e.dim = cfg.dim;
  e.user_emb.assign(final_emb.begin(), final_emb.begin() + g.n_users * cfg.dim);
  e.item_emb.assign(final_emb.begin() + g.n_users * cfg.dim, final_emb.end());
  return e;
}

// Adam (Kingma & Ba) with bias correction; the L2 term is part of the loss, not decoupled.
static void adam_update(std::vector<float>& p, const std::vector<float>& grad, std::vector<float>& m,
                        std::vector<float>& v, float lr, int64_t step, int threads) {
  const float b1 = 0.9f, b2 = 0.999f, eps = 1e-8f;
  const float c1 = 1.0f - std::pow(b1, float(step)), c2 = 1.0f - std::pow(b2, float(step));
  parallel_for(threads, int64_t(p.size()), [&](int64_t b, int64_t e, int) {
    for (int64_t x = b; x < e; ++x) {
      m[x] = b1 * m[x] + (1 - b1) * grad[x];
      v[x] = b2 * v[x] + (1 - b2) * grad[x] * grad[x];
      p[x] -= lr * (m[x] / c1) / (std::sqrt(v[x] / c2) + eps);
    }
  });
}

CfEmbeddings cf_train(const CfGraph& g, const CfConfig& cfg,
                      const std::function<void(int, double, const CfEmbeddings&)>& on_epoch) {
  cf_config_check(cfg);
  CKF_CHECK(g.nnz() > 0, "CF training: no training interactions");
  for (int64_t u = 0; u < g.n_users; ++u)
    CKF_CHECK(g.user_ptr[u + 1] - g.user_ptr[u] < g.n_items,
              "CF training: user " << u << " interacted with every item, no negative can be sampled");
  const int64_t n = (g.n_users + g.n_items) * cfg.dim;
  std::mt19937_64 rng(cfg.seed);
  std::normal_distribution<float> init(0.0f, cfg.init_std);
  std::vector<float> ego(n), grad(n), m(n, 0.0f), v(n, 0.0f), final_emb(n), scratch;  // (n_nodes, dim) each
  for (float& x : ego) x = init(rng);

  std::vector<CfTriple> edges(g.nnz());  // (nnz) positives; the negative is drawn per epoch
  for (int64_t u = 0; u < g.n_users; ++u)
    for (int64_t k = g.user_ptr[u]; k < g.user_ptr[u + 1]; ++k) edges[k] = {int32_t(u), g.user_items[k], 0};
  std::uniform_int_distribution<int32_t> any_item(0, int32_t(g.n_items - 1));
  int64_t step = 0;
  for (int epoch = 0; epoch < cfg.epochs; ++epoch) {
    std::shuffle(edges.begin(), edges.end(), rng);
    for (CfTriple& t : edges) do t.neg = any_item(rng); while (cf_graph_has(g, t.user, t.neg));
    double loss_sum = 0;
    int64_t n_batches = 0;
    for (int64_t b = 0; b < g.nnz(); b += cfg.batch_size) {
      std::span<const CfTriple> batch(edges.data() + b, size_t(std::min(cfg.batch_size, g.nnz() - b)));
      double loss = cf_bpr_loss_grad(g, cfg, ego.data(), batch, grad.data());
      CKF_CHECK(std::isfinite(loss), "CF training: loss became " << loss << " at epoch " << epoch
                                                                 << " (try a smaller --lr)");
      adam_update(ego, grad, m, v, cfg.lr, ++step, cfg.threads);
      loss_sum += loss, ++n_batches;
    }
    if (on_epoch) {
      cf_forward(g, cfg, ego.data(), final_emb.data(), scratch);
      on_epoch(epoch, loss_sum / double(n_batches), split_embeddings(g, cfg, final_emb));
    }
  }
  cf_forward(g, cfg, ego.data(), final_emb.data(), scratch);
  return split_embeddings(g, cfg, final_emb);
}

}  // namespace ckf
