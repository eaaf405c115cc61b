// Hyper-parameters of a LLaMA-family decoder, as read from a GGUF file's llama.* metadata or a
// Hugging Face config.json. Names follow the Hugging Face config where one exists.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "core/tensor.h"

namespace ckf {

struct LlamaConfig {
  int64_t vocab_size = 0;
  int64_t d_model = 0;       // hidden_size / embedding_length
  int64_t n_layers = 0;      // num_hidden_layers / block_count
  int64_t n_heads = 0;       // num_attention_heads
  int64_t n_kv_heads = 0;    // num_key_value_heads (grouped-query attention)
  int64_t d_ffn = 0;         // intermediate_size / feed_forward_length
  int64_t head_dim = 0;      // d_model / n_heads unless the file says otherwise
  double rms_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tied_embeddings = false;  // lm_head shares model.embed_tokens.weight
};

// Checks positivity and divisibility (n_heads % n_kv_heads, even head_dim); `source` names the
// file in the error.
void llama_config_validate(const LlamaConfig& c, const std::string& source);

// The Hugging Face name and shape of every weight the config implies (lm_head only when untied).
std::map<std::string, Shape> llama_hf_shapes(const LlamaConfig& c);

// Checks that `found` (HF name -> shape, from `source`) holds exactly the weights of llama_hf_shapes,
// each with its shape; errors name the source and the tensor.
void llama_check_tensors(const LlamaConfig& c, const std::map<std::string, Shape>& found, const std::string& source);

}  // namespace ckf
