// Hyperparameters of a LLaMA-family decoder (LLaMA, SmolLM, Qwen-without-bias): the fields of a
// Hugging Face config.json that the forward pass depends on.
#pragma once
#include <cstdint>
#include <string>

namespace ckf {

struct LlamaConfig {
  int vocab = 0;       // V
  int d_model = 0;     // C
  int n_layers = 0;    // L
  int n_heads = 0;     // H query heads
  int n_kv_heads = 0;  // KVH key/value heads (grouped-query attention; H % KVH == 0)
  int head_dim = 0;    // D (even, for the rotary half-split)
  int ffn = 0;         // F, MLP intermediate size
  float rms_eps = 1e-5f;
  float rope_theta = 10000.0f;
  bool tie_embeddings = false;  // lm_head shares the token embedding table
  int max_seq = 2048;           // longest sequence (prompt + generated) the model accepts
};

// Throws naming the first field that is missing or inconsistent; `source` (the file the config came
// from) starts the message.
void llama_config_validate(const LlamaConfig& cfg, const std::string& source = "llama config");

}  // namespace ckf
