// LLaMA weights from a GGUF file under Hugging Face names and layout: config from llama.*
// metadata, tensors dequantised to f32 in row-major (out, in), and the q/k row permutation that
// llama.cpp's converter applies (interleaving each head's two rotary halves) undone, so the result
// matches transformers' LlamaForCausalLM state dict (rotate_half RoPE layout).
//
// Tensor-parallel ranks load slices: load_rows/load_cols dequantise only the rows (and, within a
// row, only the blocks) that the slice touches.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/gguf_file.h"
#include "io/weight_source.h"

namespace ckf {

class LlamaGguf : public WeightSource {
 public:
  explicit LlamaGguf(const std::string& path);  // checks architecture, config and every tensor name/shape

  const LlamaConfig& config() const override { return config_; }
  const GgufFile& file() const { return file_; }
  std::vector<std::string> names() const override;
  Shape shape(const std::string& hf_name) const override;
  Tensor load(const std::string& hf_name) const override;
  Tensor load_rows(const std::string& hf_name, int64_t begin, int64_t end) const override;
  Tensor load_cols(const std::string& hf_name, int64_t begin, int64_t end) const override;

 private:
  struct Entry {
    const GgufTensorInfo* info;
    bool permuted;  // q/k: rows are in llama.cpp's per-head interleaved order
  };
  const Entry& entry(const std::string& hf_name) const;
  int64_t gguf_row(const Entry& e, int64_t hf_row) const;

  GgufFile file_;
  LlamaConfig config_;
  std::map<std::string, Entry> entries_;  // by HF name
};

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; empty when not a LLaMA tensor.
std::string llama_gguf_hf_name(const std::string& gguf_name);

}  // namespace ckf
