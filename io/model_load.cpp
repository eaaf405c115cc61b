#include "io/model_load.h"

#include <memory>

#include "core/check.h"
#include "core/llama_weights.h"
#include "core/multi_lora.h"
#include "io/weight_source.h"

namespace ckf {

LlamaConfig llama_config_load(const std::string& path) { return weight_source_open(path)->config(); }

LlamaModel llama_model_load(const std::string& path, const LoraSpec& shared, const LoraSpec& task,
                            const std::vector<std::string>& tasks, uint64_t seed) {
  std::unique_ptr<WeightSource> src = weight_source_open(path);
  LlamaModel model;
  model.config = src->config();
  try {
    model.weights = llama_weights_from_map(model.config, src->load_all());
  } catch (const Error& e) {
    CKF_FAIL(path << ": " << e.what());
  }
  model.lora = multilora_create(model.config, shared, task, tasks, seed);
  return model;
}

}  // namespace ckf
