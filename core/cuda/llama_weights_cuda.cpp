#include "core/cuda/llama_weights_cuda.h"

#include <string>

#include "core/check.h"

namespace ckf::cuda {

namespace {

DeviceBuffer<Bf16> upload_checked(const Tensor& t, const Shape& shape, const std::string& name) {
  CKF_CHECK(t.shape() == shape, "llama_weights_cuda_upload: " << name << " is " << t.describe() << ", expected "
                                                              << shape_str(shape)
                                                              << " (the device path needs the whole model, tp = 1)");
  return bf16_upload(t);
}

}  // namespace

LlamaWeightsCuda llama_weights_cuda_upload(const LlamaConfig& c, const LlamaWeights& w) {
  const int64_t V = c.vocab, C = c.d_model, QD = int64_t{c.n_heads} * c.head_dim,
                KVD = int64_t{c.n_kv_heads} * c.head_dim, F = c.ffn;
  CKF_CHECK(w.layers.size() == size_t(c.n_layers),
            "llama_weights_cuda_upload: " << w.layers.size() << " layers, config has " << c.n_layers);
  LlamaWeightsCuda d;
  d.embedding = upload_checked(w.embedding, {V, C}, "embedding");
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LlamaLayerWeights& lw = w.layers[l];
    const std::string p = "layer " + std::to_string(l) + " ";
    LlamaLayerWeightsCuda& dl = d.layers.emplace_back();
    dl.attn_norm = upload_checked(lw.attn_norm, {C}, p + "attn_norm");
    dl.wq = upload_checked(lw.wq, {QD, C}, p + "wq");
    dl.wk = upload_checked(lw.wk, {KVD, C}, p + "wk");
    dl.wv = upload_checked(lw.wv, {KVD, C}, p + "wv");
    dl.wo = upload_checked(lw.wo, {C, QD}, p + "wo");
    dl.mlp_norm = upload_checked(lw.mlp_norm, {C}, p + "mlp_norm");
    dl.w_gate = upload_checked(lw.w_gate, {F, C}, p + "w_gate");
    dl.w_up = upload_checked(lw.w_up, {F, C}, p + "w_up");
    dl.w_down = upload_checked(lw.w_down, {C, F}, p + "w_down");
  }
  d.norm = upload_checked(w.norm, {C}, "norm");
  if (w.lm_head.raw() != w.embedding.raw()) d.lm_head_own = upload_checked(w.lm_head, {V, C}, "lm_head");
  return d;
}

}  // namespace ckf::cuda
