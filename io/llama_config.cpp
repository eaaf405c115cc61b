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

std::map<std::string, Shape> llama_hf_shapes(const LlamaConfig& c) {
  int64_t q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim;
  std::map<std::string, Shape> s{{"model.embed_tokens.weight", {c.vocab_size, c.d_model}},
                                 {"model.norm.weight", {c.d_model}}};
  if (!c.tied_embeddings) s["lm_head.weight"] = {c.vocab_size, c.d_model};
  const std::pair<const char*, Shape> layer[] = {
      {"self_attn.q_proj.weight", {q, c.d_model}},   {"self_attn.k_proj.weight", {kv, c.d_model}},
      {"self_attn.v_proj.weight", {kv, c.d_model}},  {"self_attn.o_proj.weight", {c.d_model, q}},
      {"mlp.gate_proj.weight", {c.d_ffn, c.d_model}}, {"mlp.up_proj.weight", {c.d_ffn, c.d_model}},
      {"mlp.down_proj.weight", {c.d_model, c.d_ffn}}, {"input_layernorm.weight", {c.d_model}},
      {"post_attention_layernorm.weight", {c.d_model}}};
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (const auto& [name, shape] : layer) s["model.layers." + std::to_string(l) + "." + name] = shape;
  return s;
}

void llama_check_tensors(const LlamaConfig& c, const std::map<std::string, Shape>& found, const std::string& source) {
  std::map<std::string, Shape> want = llama_hf_shapes(c);
  for (const auto& [name, shape] : found) {
    auto it = want.find(name);
    CKF_CHECK(it != want.end(), source << ": tensor '" << name << "' is not a weight of this LLaMA config ("
                                       << c.n_layers << " layers, tied embeddings " << c.tied_embeddings << ")");
    CKF_CHECK(shape == it->second, source << ": tensor '" << name << "' has shape " << shape_str(shape)
                                          << ", the config implies " << shape_str(it->second));
  }
  for (const auto& [name, shape] : want)
    CKF_CHECK(found.count(name), source << ": tensor '" << name << "' is missing");
}

}  // namespace ckf
