// Frozen base weights of a LLaMA-family decoder, fp32, Hugging Face layout (a linear weight is
// (out, in)). Produced at random for tests or from a name -> tensor map read from safetensors/GGUF.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/tensor.h"

namespace ckf {

struct LlamaLayerWeights {
  Tensor attn_norm;  // (C)
  Tensor wq;         // (H*D, C)
  Tensor wk;         // (KVH*D, C)
  Tensor wv;         // (KVH*D, C)
  Tensor wo;         // (C, H*D)
  Tensor mlp_norm;   // (C)
  Tensor w_gate;     // (F, C)
  Tensor w_up;       // (F, C)
  Tensor w_down;     // (C, F)
};

struct LlamaWeights {
  Tensor embedding;                       // (V, C)
  std::vector<LlamaLayerWeights> layers;  // (L)
  Tensor norm;                            // (C) final RMSNorm
  Tensor lm_head;                         // (V, C); shares storage with embedding when tied
};

// The Hugging Face name and shape of every weight the config implies (lm_head only when untied).
std::map<std::string, Shape> llama_weight_shapes(const LlamaConfig& cfg);

// Random weights for tests: linear weights uniform in +-1/sqrt(in), norms near 1, embeddings
// uniform in +-1; a pure function of seed.
LlamaWeights llama_weights_random(const LlamaConfig& cfg, uint64_t seed);

// Takes tensors named as in Hugging Face checkpoints (model.embed_tokens.weight,
// model.layers.N.self_attn.q_proj.weight, ..., model.norm.weight, lm_head.weight), converting
// bf16/f16 to f32; f32 tensors are used in place, so borrowed storage (a mapped file) must outlive
// the weights. Throws naming the tensor on a missing name, a wrong shape or dtype, or a name
// that belongs to no part of the model (a layer index beyond n_layers, say).
LlamaWeights llama_weights_from_map(const LlamaConfig& cfg, const std::map<std::string, Tensor>& tensors);

}  // namespace ckf
