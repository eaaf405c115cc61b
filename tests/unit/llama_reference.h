// Independent double-precision reference of the LLaMA + Multi-LoRA forward for the llama_* tests:
// written straight from the math, one sequence at a time over its real tokens only (no padding,
// no batching, no kernels), so it checks the model's batching, routing and kernels together.
#pragma once
#include <algorithm>
#include <cmath>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "core/llama_model.h"
#include "core/rng.h"

namespace ckf {

// Readable test names for parameterised shapes.
inline void PrintTo(const LlamaConfig& c, std::ostream* os) {
  *os << "V" << c.vocab << " C" << c.d_model << " L" << c.n_layers << " H" << c.n_heads << " KVH" << c.n_kv_heads
      << " D" << c.head_dim << " F" << c.ffn << (c.tie_embeddings ? " tied" : "");
}

}  // namespace ckf

namespace ckf::test {

using Vec = std::vector<double>;
using Mat = std::vector<Vec>;  // rows

struct RefAdapter {
  Vec A;  // (r, in)
  Vec B;  // (out, r)
  int r = 0, in = 0, out = 0;
  double scale = 0.0;
};

// (set name: "shared" or the task, layer, target)
using AdapterKey = std::tuple<std::string, int, int>;

struct RefModel {
  LlamaConfig cfg;
  Vec emb, norm, lm_head;                          // (V, C), (C), (V, C)
  std::vector<std::map<std::string, Vec>> layers;  // name -> weight
  std::map<AdapterKey, RefAdapter> adapters;
};

inline Vec to_vec(const Tensor& t) {
  const float* p = t.data<const float>();
  return Vec(p, p + t.numel());
}

inline RefModel ref_from_model(const LlamaModel& m) {
  RefModel r;
  r.cfg = m.config;
  r.emb = to_vec(m.weights.embedding);
  r.norm = to_vec(m.weights.norm);
  r.lm_head = to_vec(m.weights.lm_head);
  for (const LlamaLayerWeights& w : m.weights.layers) {
    r.layers.push_back({{"attn_norm", to_vec(w.attn_norm)},
                        {"q", to_vec(w.wq)},
                        {"k", to_vec(w.wk)},
                        {"v", to_vec(w.wv)},
                        {"o", to_vec(w.wo)},
                        {"mlp_norm", to_vec(w.mlp_norm)},
                        {"gate", to_vec(w.w_gate)},
                        {"up", to_vec(w.w_up)},
                        {"down", to_vec(w.w_down)}});
  }
  auto add_set = [&](const std::string& name, const LoraSet& set) {
    for (size_t l = 0; l < set.layers.size(); ++l)
      for (int t = 0; t < kLoraTargets; ++t)
        if (const auto& a = set.layers[l][t])
          r.adapters[{name, int(l), t}] = {to_vec(a->A),     to_vec(a->B),     int(a->A.dim(0)),
                                           int(a->A.dim(1)), int(a->B.dim(0)), double(a->scale)};
  };
  add_set("shared", m.lora.shared);
  for (const auto& [name, set] : m.lora.tasks) add_set(name, set);
  return r;
}

// y (out) = W (out, in) x
inline Vec ref_linear(const Vec& W, const Vec& x, int out) {
  const int in = int(x.size());
  Vec y(out, 0.0);
  for (int o = 0; o < out; ++o)
    for (int i = 0; i < in; ++i) y[o] += W[size_t(o) * in + i] * x[i];
  return y;
}

inline Vec ref_rmsnorm(const Vec& x, const Vec& w, double eps) {
  double ss = 0.0;
  for (double v : x) ss += v * v;
  const double rs = 1.0 / std::sqrt(ss / x.size() + eps);
  Vec y(x.size());
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * rs * w[i];
  return y;
}

// HF rotate_half: (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin), angle pos * theta^(-2i/D).
inline void ref_rope(Vec& x, int heads, int D, int pos, double theta) {
  for (int h = 0; h < heads; ++h)
    for (int i = 0; i < D / 2; ++i) {
      const double ang = pos * std::pow(theta, -2.0 * i / D);
      double& a = x[size_t(h) * D + i];
      double& b = x[size_t(h) * D + i + D / 2];
      const double a0 = a, b0 = b;
      a = a0 * std::cos(ang) - b0 * std::sin(ang);
      b = b0 * std::cos(ang) + a0 * std::sin(ang);
    }
}

// Dropout masks to replay, read from a training forward's activations; null: no dropout.
struct RefMasks {
  const LlamaActs* acts = nullptr;
  int T = 0;
};

// W x plus every adapter of `set_names` on (layer, target); row = b*T + t for the dropout mask.
inline Vec ref_proj(const RefModel& m, int layer, LoraTarget target, const std::string& wname, const Vec& x,
                    const std::string& task, int row, const RefMasks& masks) {
  const Vec& W = m.layers[layer].at(wname);
  const int out = int(W.size() / x.size());
  Vec y = ref_linear(W, x, out);
  for (const std::string& set : {std::string("shared"), task}) {
    auto it = m.adapters.find({set, layer, int(target)});
    if (it == m.adapters.end()) continue;
    const RefAdapter& a = it->second;
    Vec xd = x;
    if (masks.acts != nullptr) {
      const LoraActs& la = set == "shared" ? masks.acts->layers[layer].lora_shared[int(target)]
                                           : masks.acts->layers[layer].lora_task[int(target)];
      if (la.mask.raw() != nullptr)
        for (int i = 0; i < a.in; ++i) xd[i] *= la.mask.data<const float>()[size_t(row) * a.in + i];
    }
    Vec h = ref_linear(a.A, xd, a.r);
    Vec d = ref_linear(a.B, h, a.out);
    for (int o = 0; o < out; ++o) y[o] += a.scale * d[o];
  }
  return y;
}

struct RefResult {
  Mat logits;  // (M, V)
  double loss = 0.0;
};

// soft (S*C) in double so finite differences can perturb it.
inline RefResult ref_forward(const RefModel& m, const LlamaBatch& batch, const Vec& soft, const RefMasks& masks = {}) {
  const LlamaConfig& c = m.cfg;
  const int C = c.d_model, H = c.n_heads, KVH = c.n_kv_heads, D = c.head_dim, F = c.ffn;
  std::vector<Mat> final_rows(batch.B);  // per sequence: (len, C) after the final norm
  for (int b = 0; b < batch.B; ++b) {
    const int len = batch.lengths[b];
    const std::string& task = batch.tasks[b];
    Mat x(len);
    for (int t = 0; t < len; ++t) {
      const int id = batch.tokens[size_t(b) * batch.T + t];
      x[t] = Vec(m.emb.begin() + size_t(id) * C, m.emb.begin() + size_t(id + 1) * C);
    }
    for (size_t s = 0; s < batch.soft.size(); ++s)
      if (batch.soft[s].seq == b) x[batch.soft[s].pos] = Vec(soft.begin() + s * C, soft.begin() + (s + 1) * C);
    for (int l = 0; l < c.n_layers; ++l) {
      const auto& W = m.layers[l];
      Mat q(len), k(len), v(len);
      for (int t = 0; t < len; ++t) {
        const int row = b * batch.T + t;
        Vec h = ref_rmsnorm(x[t], W.at("attn_norm"), c.rms_eps);
        q[t] = ref_proj(m, l, LoraTarget::q, "q", h, task, row, masks);
        k[t] = ref_proj(m, l, LoraTarget::k, "k", h, task, row, masks);
        v[t] = ref_proj(m, l, LoraTarget::v, "v", h, task, row, masks);
        ref_rope(q[t], H, D, t, c.rope_theta);
        ref_rope(k[t], KVH, D, t, c.rope_theta);
      }
      for (int t = 0; t < len; ++t) {
        const int row = b * batch.T + t;
        Vec y(size_t(H) * D, 0.0);
        for (int hh = 0; hh < H; ++hh) {
          const int kvh = hh / (H / KVH);
          Vec score(t + 1);
          double mx = -1e300;
          for (int s = 0; s <= t; ++s) {
            double dot = 0.0;
            for (int d = 0; d < D; ++d) dot += q[t][size_t(hh) * D + d] * k[s][size_t(kvh) * D + d];
            score[s] = dot / std::sqrt(double(D));
            mx = std::max(mx, score[s]);
          }
          double z = 0.0;
          for (double& e : score) z += (e = std::exp(e - mx));
          for (int s = 0; s <= t; ++s)
            for (int d = 0; d < D; ++d) y[size_t(hh) * D + d] += score[s] / z * v[s][size_t(kvh) * D + d];
        }
        Vec o = ref_proj(m, l, LoraTarget::o, "o", y, task, row, masks);
        for (int i = 0; i < C; ++i) x[t][i] += o[i];
        Vec h2 = ref_rmsnorm(x[t], W.at("mlp_norm"), c.rms_eps);
        Vec g = ref_proj(m, l, LoraTarget::gate, "gate", h2, task, row, masks);
        Vec u = ref_proj(m, l, LoraTarget::up, "up", h2, task, row, masks);
        Vec act(F);
        for (int f = 0; f < F; ++f) act[f] = g[f] / (1.0 + std::exp(-g[f])) * u[f];
        Vec dn = ref_proj(m, l, LoraTarget::down, "down", act, task, row, masks);
        for (int i = 0; i < C; ++i) x[t][i] += dn[i];
      }
    }
    for (int t = 0; t < len; ++t) final_rows[b].push_back(ref_rmsnorm(x[t], m.norm, c.rms_eps));
  }
  RefResult r;
  int counted = 0;
  for (const LogitRequest& req : batch.outputs) {
    Vec logit = ref_linear(m.lm_head, final_rows[req.seq][req.pos], c.vocab);
    if (req.target != kIgnoreTarget) {
      double mx = *std::max_element(logit.begin(), logit.end()), z = 0.0;
      for (double e : logit) z += std::exp(e - mx);
      r.loss += std::log(z) + mx - logit[req.target];
      ++counted;
    }
    r.logits.push_back(logit);
  }
  if (counted) r.loss /= counted;
  return r;
}

// ---- Shared fixtures -------------------------------------------------------------------------

inline LlamaConfig tiny_config() {
  return LlamaConfig{.vocab = 37, .d_model = 24, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 6,
                      .ffn = 40, .rms_eps = 1e-5f, .rope_theta = 10000.0f, .tie_embeddings = false, .max_seq = 16};
}

// Odd sizes, a single KV head, tied embeddings, head_dim != d_model / n_heads.
inline LlamaConfig odd_config() {
  return LlamaConfig{.vocab = 29, .d_model = 15, .n_layers = 3, .n_heads = 3, .n_kv_heads = 1, .head_dim = 4,
                      .ffn = 19, .rms_eps = 1e-6f, .rope_theta = 500.0f, .tie_embeddings = true, .max_seq = 16};
}

// Adapters on all seven projections, shared and task overlapping on v; no dropout.
inline LoraSpec test_shared_spec() {
  return {{LoraTarget::k, LoraTarget::v, LoraTarget::o, LoraTarget::gate, LoraTarget::down}, 3, 5.0f, 0.0f};
}
inline LoraSpec test_task_spec() { return {{LoraTarget::q, LoraTarget::v, LoraTarget::up}, 2, 3.0f, 0.0f}; }

// B starts at zero in PEFT; the tests need a nonzero delta to see the adapters at all.
inline void randomize_lora_b(MultiLora& lora, uint64_t seed) {
  uint64_t stream = 0;
  for (LoraParam& p : multilora_params(lora))
    if (p.name.ends_with("lora_B.weight"))
      rng_fill_uniform(p.param.data<float>(), p.param.numel(), -0.4f, 0.4f, seed, ++stream);
}

inline LlamaModel tiny_model(const LlamaConfig& cfg, const std::vector<std::string>& tasks, uint64_t seed) {
  LlamaModel m;
  m.config = cfg;
  m.weights = llama_weights_random(cfg, seed);
  m.lora = multilora_create(cfg, test_shared_spec(), test_task_spec(), tasks, seed + 1);
  randomize_lora_b(m.lora, seed + 2);
  return m;
}

// B = 3, T = 7, right-padded with out-of-vocab garbage that the model must ignore; soft tokens in
// two sequences; logits requested in every sequence, one position twice, one without a target.
inline LlamaBatch tiny_batch(const LlamaConfig& cfg, const std::vector<std::string>& tasks, uint64_t seed) {
  LlamaBatch b;
  b.B = 3;
  b.T = 7;
  b.lengths = {7, 4, 6};
  b.tasks = tasks;
  b.tokens.resize(size_t(b.B) * b.T);
  for (int s = 0; s < b.B; ++s)
    for (int t = 0; t < b.T; ++t)
      b.tokens[size_t(s) * b.T + t] =
          t < b.lengths[s] ? int32_t(rng_mix(seed + s * 131 + t) % uint64_t(cfg.vocab)) : 1000 + t;
  b.soft = {{0, 2}, {2, 0}, {2, 5}};
  b.soft_vectors = Tensor::empty({3, cfg.d_model});
  rng_fill_uniform(b.soft_vectors.data<float>(), b.soft_vectors.numel(), -1.0f, 1.0f, seed, 77);
  b.outputs = {{0, 6, 3}, {0, 2, 11}, {1, 3, 5}, {1, 1, kIgnoreTarget}, {2, 5, 20}, {2, 5, 8}, {2, 0, 1}};
  for (LogitRequest& r : b.outputs)
    if (r.target != kIgnoreTarget) r.target %= cfg.vocab;
  return b;
}

}  // namespace ckf::test
