#include "core/llama_weights.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/check.h"
#include "core/rng.h"

namespace ckf {

namespace {

// One named weight of the model with the slot it fills, the shape it must have and how tensor
// parallelism splits it (the table in llama_weights.h).
struct WeightSlot {
  std::string name;
  Tensor* dst;
  Shape shape;
  LlamaTpSlice::Split split;
};

std::vector<WeightSlot> weight_slots(const LlamaConfig& cfg, LlamaWeights& w) {
  const int64_t C = cfg.d_model, V = cfg.vocab, F = cfg.ffn;
  const int64_t QD = int64_t{cfg.n_heads} * cfg.head_dim, KVD = int64_t{cfg.n_kv_heads} * cfg.head_dim;
  constexpr auto whole = LlamaTpSlice::whole, rows = LlamaTpSlice::rows, cols = LlamaTpSlice::cols;
  std::vector<WeightSlot> slots;
  slots.push_back({"model.embed_tokens.weight", &w.embedding, {V, C}, rows});
  w.layers.resize(cfg.n_layers);
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    LlamaLayerWeights& lw = w.layers[l];
    slots.push_back({p + "input_layernorm.weight", &lw.attn_norm, {C}, whole});
    slots.push_back({p + "self_attn.q_proj.weight", &lw.wq, {QD, C}, rows});
    slots.push_back({p + "self_attn.k_proj.weight", &lw.wk, {KVD, C}, rows});
    slots.push_back({p + "self_attn.v_proj.weight", &lw.wv, {KVD, C}, rows});
    slots.push_back({p + "self_attn.o_proj.weight", &lw.wo, {C, QD}, cols});
    slots.push_back({p + "post_attention_layernorm.weight", &lw.mlp_norm, {C}, whole});
    slots.push_back({p + "mlp.gate_proj.weight", &lw.w_gate, {F, C}, rows});
    slots.push_back({p + "mlp.up_proj.weight", &lw.w_up, {F, C}, rows});
    slots.push_back({p + "mlp.down_proj.weight", &lw.w_down, {C, F}, cols});
  }
  slots.push_back({"model.norm.weight", &w.norm, {C}, whole});
  if (!cfg.tie_embeddings) slots.push_back({"lm_head.weight", &w.lm_head, {V, C}, rows});
  return slots;
}

bool is_norm(const std::string& name) { return name.find("norm") != std::string::npos; }

void check_finite(const std::string& name, const Tensor& t) {
  const float* x = t.data<const float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    CKF_CHECK(std::isfinite(x[i]), "model weights: tensor '" << name << "' has a non-finite value at " << i);
}

void check_tp_divides(const char* field, int value, int size) {
  CKF_CHECK(value % size == 0, "--tp " << size << ": " << field << " " << value << " is not divisible by " << size);
}

// Columns [begin, end) of a matrix, copied into owned storage.
Tensor slice_cols(const Tensor& t, int64_t begin, int64_t end) {
  const int64_t rows = t.dim(0), cols = t.dim(1), n = end - begin;
  Tensor out = Tensor::empty({rows, n});
  const float* x = t.data<const float>();
  float* y = out.data<float>();
  for (int64_t r = 0; r < rows; ++r) std::copy(x + r * cols + begin, x + r * cols + end, y + r * n);
  return out;
}

}  // namespace

std::map<std::string, Shape> llama_weight_shapes(const LlamaConfig& cfg) {
  llama_config_validate(cfg);
  LlamaWeights unused;
  std::map<std::string, Shape> shapes;
  for (const WeightSlot& s : weight_slots(cfg, unused)) shapes[s.name] = s.shape;
  return shapes;
}

LlamaWeights llama_weights_random(const LlamaConfig& cfg, uint64_t seed) {
  llama_config_validate(cfg);
  LlamaWeights w;
  std::vector<WeightSlot> slots = weight_slots(cfg, w);
  for (size_t i = 0; i < slots.size(); ++i) {
    const WeightSlot& s = slots[i];
    *s.dst = Tensor::empty(s.shape);
    float* x = s.dst->data<float>();
    if (is_norm(s.name)) {
      rng_fill_uniform(x, s.dst->numel(), 0.8f, 1.2f, seed, i);
    } else {
      // Embedding rows are the residual stream's scale; linear weights keep activations O(1).
      float bound = s.name == "model.embed_tokens.weight" ? 1.0f : 1.0f / std::sqrt(float(s.shape[1]));
      rng_fill_uniform(x, s.dst->numel(), -bound, bound, seed, i);
    }
  }
  if (cfg.tie_embeddings) w.lm_head = w.embedding;
  return w;
}

LlamaWeights llama_weights_from_map(const LlamaConfig& cfg, const std::map<std::string, Tensor>& tensors) {
  llama_config_validate(cfg);
  LlamaWeights w;
  std::set<std::string> used;
  for (const WeightSlot& s : weight_slots(cfg, w)) {
    auto it = tensors.find(s.name);
    CKF_CHECK(it != tensors.end(),
              "model weights: missing tensor '" << s.name << "' (expected shape " << shape_str(s.shape) << ")");
    const Tensor& t = it->second;
    CKF_CHECK(t.shape() == s.shape, "model weights: tensor '" << s.name << "' has shape " << shape_str(t.shape())
                                                              << ", expected " << shape_str(s.shape));
    CKF_CHECK(t.device() == Device::cpu, "model weights: tensor '" << s.name << "' is not in host memory");
    CKF_CHECK(
        t.dtype() == DType::f32 || t.dtype() == DType::bf16 || t.dtype() == DType::f16,
        "model weights: tensor '" << s.name << "' has dtype " << dtype_name(t.dtype()) << ", expected a floating type");
    *s.dst = t.dtype() == DType::f32 ? t : t.to(DType::f32);
    used.insert(s.name);
  }
  if (cfg.tie_embeddings) {
    // Some tied checkpoints still store lm_head.weight; it must then be the embedding's shape.
    auto it = tensors.find("lm_head.weight");
    if (it != tensors.end()) {
      CKF_CHECK(it->second.shape() == w.embedding.shape(), "model weights: tied lm_head.weight has shape "
                                                               << shape_str(it->second.shape()) << ", expected "
                                                               << shape_str(w.embedding.shape()));
      used.insert(it->first);
    }
    w.lm_head = w.embedding;
  }
  for (const auto& [name, t] : tensors) {
    // Rotary frequencies are recomputed from rope_theta, never read.
    if (used.count(name) || name.ends_with("rotary_emb.inv_freq")) continue;
    CKF_FAIL("model weights: unexpected tensor '" << name << "' " << t.describe() << " for a model with "
                                                  << cfg.n_layers << " layers");
  }
  for (const WeightSlot& s : weight_slots(cfg, w)) check_finite(s.name, *s.dst);
  return w;
}

LlamaWeights llama_weights_read_shard(const LlamaConfig& cfg, int rank, int size, const LlamaSliceReader& read) {
  llama_config_validate(cfg);
  CKF_CHECK(size >= 1, "--tp " << size << ": the tensor-parallel size must be at least 1");
  CKF_CHECK(0 <= rank && rank < size, "tensor-parallel rank " << rank << " is outside [0, " << size << ")");
  check_tp_divides("n_heads", cfg.n_heads, size);
  check_tp_divides("n_kv_heads", cfg.n_kv_heads, size);
  check_tp_divides("ffn", cfg.ffn, size);
  check_tp_divides("vocab", cfg.vocab, size);
  LlamaWeights w;
  for (const WeightSlot& s : weight_slots(cfg, w)) {
    LlamaTpSlice slice{s.split, 0, 0};
    Shape want = s.shape;
    if (s.split != LlamaTpSlice::whole) {
      // Every split dimension is a multiple of H, KVH, F or V, so it divides by size too.
      const int dim = s.split == LlamaTpSlice::rows ? 0 : 1;
      want[dim] = s.shape[dim] / size;
      slice.begin = rank * want[dim];
      slice.end = slice.begin + want[dim];
    }
    Tensor t = read(s.name, slice);
    CKF_CHECK(t.shape() == want && t.dtype() == DType::f32 && t.device() == Device::cpu,
              "model weights: tensor-parallel slice of '" << s.name << "' is " << t.describe() << ", expected f32 "
                                                          << shape_str(want) << " cpu");
    check_finite(s.name, t);
    *s.dst = t;
  }
  if (cfg.tie_embeddings) w.lm_head = w.embedding;
  return w;
}

LlamaWeights llama_weights_shard(const LlamaConfig& cfg, const LlamaWeights& full, int rank, int size) {
  CKF_CHECK(static_cast<int>(full.layers.size()) == cfg.n_layers,
            "llama_weights_shard: weights have " << full.layers.size() << " layers, the config " << cfg.n_layers);
  LlamaWeights named = full;  // shares storage; weight_slots wants a mutable table to point into
  const std::vector<WeightSlot> slots = weight_slots(cfg, named);
  std::map<std::string, const WeightSlot*> by_name;
  for (const WeightSlot& s : slots) by_name[s.name] = &s;
  return llama_weights_read_shard(cfg, rank, size, [&](const std::string& name, const LlamaTpSlice& slice) {
    const WeightSlot& s = *by_name.at(name);
    const Tensor& t = *s.dst;
    CKF_CHECK(t.shape() == s.shape, "llama_weights_shard: tensor '" << name << "' is " << t.describe()
                                                                    << ", expected " << shape_str(s.shape));
    if (slice.split == LlamaTpSlice::rows) return t.slice_rows(slice.begin, slice.end).clone();
    if (slice.split == LlamaTpSlice::cols) return slice_cols(t, slice.begin, slice.end);
    return t.clone();
  });
}

}  // namespace ckf
