// The CKF mapper: turns frozen CF embeddings into soft tokens in the LLM's embedding space.
//   metanet:        W_u = I + reshape(MetaNet(mean(e_hist)), d_cf, d_cf)  (one mapping per user)
//                   user token = UserProj(e_u · W_u),  item token = ItemProj(e_i)
//   shared_linear:  W_u = W (one trainable d_cf x d_cf matrix for every user, CoLLM-like ablation)
// The identity residual makes a fresh MetaNet (output scaled near zero) start as the identity
// mapping, so early soft tokens carry the CF embedding unchanged into UserProj.
#pragma once
#include <cstdint>
#include <random>
#include <string>

#include "core/mlp.h"

namespace ckf {

enum class MappingKind { metanet, shared_linear };

MappingKind mapping_kind_from_string(const std::string& s);  // "metanet" | "shared_linear"

struct MapperConfig {
  int d_cf = 64;            // CF embedding size
  int d_model = 576;        // LLM hidden size
  int meta_hidden = 64;     // MetaNet hidden width
  int proj_hidden = 256;    // UserProj / ItemProj hidden width (0: a single linear layer)
  MappingKind kind = MappingKind::metanet;
  uint64_t seed = 1234;
};

struct Mapper {
  MapperConfig cfg;
  Mlp meta;        // d_cf -> d_cf*d_cf   (metanet only)
  Param shared;    // (d_cf, d_cf)        (shared_linear only), initialised to the identity
  Mlp user_proj;   // d_cf -> d_model
  Mlp item_proj;   // d_cf -> d_model
};

// Saved activations of one user-token forward over N users.
struct MapperUserActs {
  Tensor e_user;   // (N, d_cf)
  Tensor w_user;   // (N, d_cf, d_cf) per-user mapping W_u
  MlpActs meta;
  MlpActs proj;
};

Mapper mapper_create(const MapperConfig& cfg);

// out (N, d_model): user soft tokens; e_user (N, d_cf) the users' CF embeddings, hist_mean (N, d_cf)
// the mean CF embedding of each user's history items. Each row gets its own mapping.
void mapper_user_forward(const Mapper& m, float* out, const float* e_user, const float* hist_mean, int N,
                         MapperUserActs& acts);
void mapper_user_backward(Mapper& m, const float* dout, int N, const MapperUserActs& acts);

// out (N, d_model): item soft tokens from e_item (N, d_cf).
void mapper_item_forward(const Mapper& m, float* out, const float* e_item, int N, MlpActs& acts);
void mapper_item_backward(Mapper& m, const float* dout, int N, const MlpActs& acts);

// Trainable parameters in a fixed order (names prefixed "mapper.").
ParamRefs mapper_params(Mapper& m);

}  // namespace ckf
