#include "core/llama_config.h"

#include "core/check.h"

namespace ckf {

void llama_config_validate(const LlamaConfig& cfg, const std::string& source) {
  CKF_CHECK(cfg.vocab > 0, source << ": vocab must be positive, got " << cfg.vocab);
  CKF_CHECK(cfg.d_model > 0, source << ": d_model must be positive, got " << cfg.d_model);
  CKF_CHECK(cfg.n_layers > 0, source << ": n_layers must be positive, got " << cfg.n_layers);
  CKF_CHECK(cfg.n_heads > 0, source << ": n_heads must be positive, got " << cfg.n_heads);
  CKF_CHECK(cfg.n_kv_heads > 0 && cfg.n_heads % cfg.n_kv_heads == 0,
            source << ": n_kv_heads " << cfg.n_kv_heads << " must divide n_heads " << cfg.n_heads);
  CKF_CHECK(cfg.head_dim > 0 && cfg.head_dim % 2 == 0,
            source << ": head_dim must be positive and even (rotary halves), got " << cfg.head_dim);
  CKF_CHECK(cfg.ffn > 0, source << ": ffn must be positive, got " << cfg.ffn);
  CKF_CHECK(cfg.rms_eps > 0.0f, source << ": rms_eps must be positive, got " << cfg.rms_eps);
  CKF_CHECK(cfg.rope_theta > 0.0f, source << ": rope_theta must be positive, got " << cfg.rope_theta);
  CKF_CHECK(cfg.max_seq > 0, source << ": max_seq must be positive, got " << cfg.max_seq);
}

}  // namespace ckf
