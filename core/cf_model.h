// Collaborative-filtering embeddings for CKF: matrix factorisation and LightGCN, both trained with
// the BPR loss on (user, positive, uniformly sampled non-interacted negative) triples and Adam.
//
// Parameters are the ego embeddings E0 (n_users + n_items, dim), users first. MF scores with E0
// directly; LightGCN with E = mean_{k=0..L} A_hat^k E0 (symmetric normalised propagation). The
// score of (u, i) is <E[u], E[n_users + i]>.
//
// Loss of a batch B of triples (u, i, j):
//   (1/|B|) sum_B [ softplus(-(s_ui - s_uj)) + (reg/2) (|E0[u]|^2 + |E0[i]|^2 + |E0[j]|^2) ]
// (L2 on the ego embeddings the batch touches, as in the LightGCN paper).
//
// Determinism: for a given seed the result is bitwise identical for every thread count. Sampling
// runs on one RNG in a fixed order, and every parallel loop gives each output element to one
// thread that accumulates it in a fixed order.
#pragma once
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "core/cf_graph.h"

namespace ckf {

enum class CfModel { mf, lightgcn };
CfModel cf_model_parse(const std::string& name);  // "mf" | "lightgcn", else an error
const char* cf_model_name(CfModel model);

struct CfConfig {
  CfModel model = CfModel::mf;
  int64_t dim = 64;
  int layers = 3;  // LightGCN propagation steps (MF ignores it)
  int epochs = 20;
  int64_t batch_size = 2048;
  float lr = 1e-3f;
  float reg = 1e-4f;
  float init_std = 0.1f;
  int threads = 1;
  uint64_t seed = 1;
};
void cf_config_check(const CfConfig& cfg);  // errors name the offending option

struct CfTriple {
  int32_t user, pos, neg;  // pos and neg are item ids
};

// Final embeddings (n_users + n_items, dim) from ego (same shape); `scratch` is resized as needed.
template <class T>
void cf_forward(const CfGraph& g, const CfConfig& cfg, const T* ego, T* final_emb, std::vector<T>& scratch);

// The batch loss above; writes its gradient with respect to ego into grad_ego (same shape).
template <class T>
double cf_bpr_loss_grad(const CfGraph& g, const CfConfig& cfg, const T* ego, std::span<const CfTriple> batch,
                        T* grad_ego);

struct CfEmbeddings {
  std::string model;  // "mf" | "lightgcn"
  int64_t n_users = 0, n_items = 0, dim = 0;
  std::vector<float> user_emb;  // (n_users, dim) final embeddings
  std::vector<float> item_emb;  // (n_items, dim)
};

float cf_score(const CfEmbeddings& e, int32_t user, int32_t item);

// Trains on every edge of g once per epoch in a seeded shuffled order. on_epoch(epoch, mean
// batch loss) is called after each epoch, with the current embeddings.
CfEmbeddings cf_train(const CfGraph& g, const CfConfig& cfg,
                      const std::function<void(int epoch, double loss, const CfEmbeddings& emb)>& on_epoch);

}  // namespace ckf
