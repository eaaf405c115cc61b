// LLaMA weights from a Hugging Face model directory: config.json (LlamaForCausalLM) and either
// model.safetensors or shards listed in model.safetensors.index.json. Tensors are F32, F16 or BF16
// and already in HF names and layout; they are converted to f32 on load.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "io/weight_source.h"
#include "io/safetensors.h"

namespace ckf {

// Reads a LlamaForCausalLM config.json; errors name the file and the field.
LlamaConfig hf_config_read(const std::string& config_json_path);

class HfModelDir : public WeightSource {
 public:
  explicit HfModelDir(const std::string& dir);  // checks config, index and every tensor name/shape

  const LlamaConfig& config() const override { return config_; }
  std::vector<std::string> names() const override;
  Shape shape(const std::string& name) const override;
  Tensor load(const std::string& name) const override;
  Tensor load_rows(const std::string& name, int64_t begin, int64_t end) const override;
  Tensor load_cols(const std::string& name, int64_t begin, int64_t end) const override;

 private:
  const SafetensorsFile& file_of(const std::string& name) const;

  std::string dir_;
  LlamaConfig config_;
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafetensorsFile*> where_;  // HF name -> the file holding it
};

}  // namespace ckf
