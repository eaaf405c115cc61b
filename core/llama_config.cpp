#include "core/llama_config.h"

#include "core/check.h"

namespace ckf {

void llama_config_validate(const LlamaConfig& cfg) {
  CKF_CHECK(cfg.vocab > 0, "llama config: vocab must be positive, got " << cfg.vocab);
  CKF_CHECK(cfg.d_model > 0, "llama config: d_model must be positive, got " << cfg.d_model);
  CKF_CHECK(cfg.n_layers > 0, "llama config: n_layers must be positive, got " << cfg.n_layers);
  CKF_CHECK(cfg.n_heads > 0, "llama config: n_heads must be positive, got " << cfg.n_heads);
  CKF_CHECK(cfg.n_kv_heads > 0 && cfg.n_heads % cfg.n_kv_heads == 0,
            "llama config: n_kv_heads " << cfg.n_kv_heads << " must divide n_heads " << cfg.n_heads);
  CKF_CHECK(cfg.head_dim > 0 && cfg.head_dim % 2 == 0,
            "llama config: head_dim must be positive and even (rotary halves), got " << cfg.head_dim);
  CKF_CHECK(cfg.ffn > 0, "llama config: ffn must be positive, got " << cfg.ffn);
  CKF_CHECK(cfg.rms_eps > 0.0f, "llama config: rms_eps must be positive, got " << cfg.rms_eps);
  CKF_CHECK(cfg.rope_theta > 0.0f, "llama config: rope_theta must be positive, got " << cfg.rope_theta);
  CKF_CHECK(cfg.max_seq > 0, "llama config: max_seq must be positive, got " << cfg.max_seq);
}

}  // namespace ckf
