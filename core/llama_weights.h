// Frozen base weights of a LLaMA-family decoder, fp32, Hugging Face layout (a linear weight is
// (out, in)). Produced at random for tests or from a name -> tensor map read from safetensors/GGUF.
#pragma once
#include <cstdint>
#include <functional>
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

// Tensor parallelism (Megatron). Rank `rank` of `size` holds, in the Hugging Face layout above:
//   wq              rows    [rank*(H/size)*D,   (rank+1)*(H/size)*D)    -> (H/size*D, C)
//   wk, wv          rows    [rank*(KVH/size)*D, (rank+1)*(KVH/size)*D)  -> (KVH/size*D, C)
//   wo              columns [rank*(H/size)*D,   (rank+1)*(H/size)*D)    -> (C, H/size*D)
//   w_gate, w_up    rows    [rank*(F/size),     (rank+1)*(F/size))      -> (F/size, C)
//   w_down          columns [rank*(F/size),     (rank+1)*(F/size))      -> (C, F/size)
//   embedding       rows    [rank*(V/size),     (rank+1)*(V/size))      -> (V/size, C)
//   lm_head         the same rows; when cfg.tie_embeddings it shares the embedding shard's storage
//   attn_norm, mlp_norm, norm: whole.
// So column-parallel layers (q, k, v, gate, up) split output rows, row-parallel layers (o, down)
// split input columns, and a rank's query heads use exactly its key/value heads (grouped-query
// attention maps query head h to kv head h / (H/KVH)). H, KVH, F and V must divide by size; the
// error names the field ("--tp 4: n_kv_heads 3 is not divisible by 4"), as it does for a rank
// outside [0, size). llama_weights_shard and llama_weights_load_shard (io/model_load.h) return
// shards in storage of their own, so the full weights or the file may go away.
struct LlamaTpSlice {
  enum Split { whole, rows, cols } split;
  int64_t begin, end;  // the row or column range; unused for whole
};

// Reads weight `name` (a Hugging Face name) restricted to `slice`, as f32 on the CPU.
using LlamaSliceReader = std::function<Tensor(const std::string& name, const LlamaTpSlice& slice)>;

// Rank `rank` of `size`'s weights, each read through `read`; checks every slice's shape and that
// its values are finite, naming the tensor.
LlamaWeights llama_weights_read_shard(const LlamaConfig& cfg, int rank, int size, const LlamaSliceReader& read);

// Slices weights already in memory (the tiny random model, tests); size 1 is a deep copy.
LlamaWeights llama_weights_shard(const LlamaConfig& cfg, const LlamaWeights& full, int rank, int size);

}  // namespace ckf
