#include "core/llama_decode.h"

#include <cmath>
#include <cstring>

#include "core/check.h"
#include "kernels/cpu/matmul.h"
#include "kernels/cpu/rmsnorm.h"

namespace ckf {

namespace {

// atty (H*D) = softmax(q . K^T / sqrt(D)) V for one query row against n cached rows; query head h
// reads KV head h / (H / KVH), as the batched attention kernel does.
void decode_attention(float* atty, const float* q, const float* k_cache, const float* v_cache, int n, int H, int KVH,
                      int D) {
  const int group = H / KVH, kvd = KVH * D;
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  std::vector<float> p(n);
  for (int h = 0; h < H; ++h) {
    const float* qh = q + h * D;
    const int off = (h / group) * D;
    float mx = -INFINITY;
    for (int j = 0; j < n; ++j) {
      float s = 0.0f;
      for (int d = 0; d < D; ++d) s += qh[d] * k_cache[int64_t(j) * kvd + off + d];
      p[j] = s * scale;
      mx = std::max(mx, p[j]);
    }
    float sum = 0.0f;
    for (int j = 0; j < n; ++j) sum += (p[j] = std::exp(p[j] - mx));
    float* out = atty + h * D;
    std::fill(out, out + D, 0.0f);
    for (int j = 0; j < n; ++j) {
      const float pj = p[j] / sum;
      for (int d = 0; d < D; ++d) out[d] += pj * v_cache[int64_t(j) * kvd + off + d];
    }
  }
}

}  // namespace

LlamaDecoder llama_decoder_create(const LlamaModel& model, const std::string& task, int capacity) {
  const LlamaConfig& cfg = model.config;
  CKF_CHECK(model.tp.size == 1, "decoder: incremental decoding runs the whole model on one rank, not a tp slice of "
                                    << model.tp.size);
  CKF_CHECK(capacity > 0 && capacity <= cfg.max_seq,
            "decoder: capacity " << capacity << " outside [1, max_seq = " << cfg.max_seq << "]");
  LlamaDecoder dec;
  dec.task = task;
  dec.capacity = capacity;
  dec.segment = multilora_segments(model.lora, {task}, 1);
  const int64_t L = cfg.n_layers, kvd = int64_t{cfg.n_kv_heads} * cfg.head_dim;
  dec.k_cache = Tensor::zeros({L, capacity, kvd});
  dec.v_cache = Tensor::zeros({L, capacity, kvd});
  dec.work.resize(L);
  for (int l = 0; l < L; ++l) block_acts_resize(dec.work[l], cfg, model.lora, l, 1, 1, false);
  dec.x = Tensor::zeros({L + 1, cfg.d_model});
  dec.lnf = Tensor::zeros({1, cfg.d_model});
  dec.lnf_rstd = Tensor::zeros({1});
  return dec;
}

void llama_decode_step(const LlamaModel& model, LlamaDecoder& dec, int32_t token, const float* soft_vector,
                       float* logits) {
  const LlamaConfig& cfg = model.config;
  const LlamaWeights& w = model.weights;
  const int C = cfg.d_model, L = cfg.n_layers, kvd = cfg.n_kv_heads * cfg.head_dim;
  CKF_CHECK(dec.len < dec.capacity, "decoder: cache full at " << dec.capacity << " tokens");
  float* x = dec.x.data<float>();
  if (soft_vector != nullptr) {
    std::memcpy(x, soft_vector, sizeof(float) * C);
  } else {
    CKF_CHECK(token >= 0 && token < cfg.vocab, "decoder: token id " << token << " outside vocab " << cfg.vocab);
    std::memcpy(x, w.embedding.data<const float>() + int64_t{token} * C, sizeof(float) * C);
  }
  const int32_t pos = dec.len;
  for (int l = 0; l < L; ++l) {
    const BlockRun run{&cfg, l, 1, 1, &pos, &dec.segment, false, 0, &model.tp};
    LayerActs& a = dec.work[l];
    block_qkv_forward(run, w.layers[l], model.lora, x + int64_t{l} * C, a);
    float* kc = dec.k_cache.data<float>() + int64_t{l} * dec.capacity * kvd;
    float* vc = dec.v_cache.data<float>() + int64_t{l} * dec.capacity * kvd;
    std::memcpy(kc + int64_t{pos} * kvd, a.k.data<const float>(), sizeof(float) * kvd);
    std::memcpy(vc + int64_t{pos} * kvd, a.v.data<const float>(), sizeof(float) * kvd);
    decode_attention(a.atty.data<float>(), a.q.data<const float>(), kc, vc, pos + 1, cfg.n_heads, cfg.n_kv_heads,
                     cfg.head_dim);
    block_out_forward(run, w.layers[l], model.lora, x + int64_t{l} * C, x + int64_t{l + 1} * C, a);
  }
  cpu::rmsnorm_forward(dec.lnf.data<float>(), dec.lnf_rstd.data<float>(), x + int64_t{L} * C,
                       w.norm.data<const float>(), 1, C, cfg.rms_eps);
  cpu::linear_forward(logits, dec.lnf.data<const float>(), w.lm_head.data<const float>(), nullptr, 1, C, cfg.vocab);
  ++dec.len;
}

void llama_decoder_rewind(LlamaDecoder& dec, int len) {
  CKF_CHECK(len >= 0 && len <= dec.len, "decoder: cannot rewind to " << len << " tokens with " << dec.len << " cached");
  dec.len = len;
}

}  // namespace ckf
