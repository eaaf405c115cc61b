#include "io/weight_source.h"

#include <filesystem>

#include "core/check.h"
#include "io/hf_model_dir.h"
#include "io/llama_gguf.h"

namespace ckf {

std::map<std::string, Tensor> WeightSource::load_all() const {
  std::map<std::string, Tensor> out;
  for (const std::string& name : names()) out.emplace(name, load(name));
  return out;
}

std::unique_ptr<WeightSource> weight_source_open(const std::string& path) {
  CKF_CHECK(std::filesystem::exists(path), path << ": model path does not exist");
  if (std::filesystem::is_directory(path)) return std::make_unique<HfModelDir>(path);
  return std::make_unique<LlamaGguf>(path);
}

}  // namespace ckf
