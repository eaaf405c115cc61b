#include "io/model_load.h"

#include <memory>

#include "core/check.h"
#include "core/llama_weights.h"
#include "core/multi_lora.h"
#include "io/weight_source.h"

namespace ckf {

LlamaConfig llama_config_load(const std::string& path) { return weight_source_open(path)->config(); }

LlamaWeights llama_weights_load_shard(const WeightSource& src, int rank, int size) {
  return llama_weights_read_shard(src.config(), rank, size, [&](const std::string& name, const LlamaTpSlice& slice) {
    if (slice.split == LlamaTpSlice::rows) return src.load_rows(name, slice.begin, slice.end);
    if (slice.split == LlamaTpSlice::cols) return src.load_cols(name, slice.begin, slice.end);
    return src.load(name);
  });
}

LlamaModel llama_model_load(const std::string& path, const LoraSpec& shared, const LoraSpec& task,
                            const std::vector<std::string>& tasks, uint64_t seed, int tp_rank, int tp_size) {
  std::unique_ptr<WeightSource> src = weight_source_open(path);
  LlamaModel model;
  model.config = src->config();
  try {
    model.weights = llama_weights_load_shard(*src, tp_rank, tp_size);
  } catch (const Error& e) {
    CKF_FAIL(path << ": " << e.what());
  }
  model.lora = multilora_create(model.config, shared, task, tasks, seed, tp_rank, tp_size);
  return model;
}

}  // namespace ckf
