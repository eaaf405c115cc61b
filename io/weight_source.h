// A source of LLaMA weights under Hugging Face names and layout (f32, row-major (out, in)),
// whatever the file format: GGUF (LlamaGguf) or a Hugging Face model directory (HfModelDir).
// Tensor-parallel ranks load only their slice with load_rows / load_cols.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/tensor.h"

namespace ckf {

class WeightSource {
 public:
  WeightSource() = default;
  WeightSource(const WeightSource&) = delete;  // implementations hold pointers into their own tables
  WeightSource& operator=(const WeightSource&) = delete;
  virtual ~WeightSource() = default;
  virtual const LlamaConfig& config() const = 0;
  virtual std::vector<std::string> names() const = 0;  // HF names, sorted
  virtual Shape shape(const std::string& name) const = 0;
  virtual Tensor load(const std::string& name) const = 0;
  virtual Tensor load_rows(const std::string& name, int64_t begin, int64_t end) const = 0;  // 2-D only
  virtual Tensor load_cols(const std::string& name, int64_t begin, int64_t end) const = 0;  // 2-D only
  std::map<std::string, Tensor> load_all() const;
};

// Opens a .gguf file or a Hugging Face model directory.
std::unique_ptr<WeightSource> weight_source_open(const std::string& path);

}  // namespace ckf
