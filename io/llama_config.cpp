#include "io/llama_config.h"

#include "core/check.h"

namespace ckf {

void llama_config_validate(const LlamaConfig& c, const std::string& source) {
  auto positive = [&](int64_t v, const char* field) {
    CKF_CHECK(v > 0, source << ": " << field << " must be positive, got " << v);
  };
  positive(c.vocab_size, "vocab_size");
  positive(c.d_model, "hidden_size");
  positive(c.n_layers, "num_hidden_layers");
  positive(c.n_heads, "num_attention_heads");
  positive(c.n_kv_heads, "num_key_value_heads");
  positive(c.d_ffn, "intermediate_size");
  positive(c.head_dim, "head_dim");
  CKF_CHECK(c.n_heads % c.n_kv_heads == 0, source << ": num_attention_heads " << c.n_heads
                                                  << " is not a multiple of num_key_value_heads " << c.n_kv_heads);
  CKF_CHECK(c.head_dim % 2 == 0, source << ": head_dim " << c.head_dim << " must be even for rotary embeddings");
  CKF_CHECK(c.rms_eps > 0, source << ": rms_norm_eps must be positive, got " << c.rms_eps);
  CKF_CHECK(c.rope_theta > 0, source << ": rope_theta must be positive, got " << c.rope_theta);
}

}  // namespace ckf
