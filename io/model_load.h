// The one entry point from a model file to a runnable model: a .gguf file or a Hugging Face model
// directory becomes a LlamaModel (config from the file, fp32 base weights, fresh Multi-LoRA).
// Checkpoints record which file with model_identity_of (io/model_identity.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/llama_model.h"
#include "core/llama_weights.h"
#include "core/lora.h"
#include "io/weight_source.h"

namespace ckf {

// The config alone (reads the header and the tensor table, dequantises nothing).
LlamaConfig llama_config_load(const std::string& path);

// Tensor-parallel rank `rank` of `size`'s base weights (the slices in core/llama_weights.h), read
// from the file slice by slice (load_rows / load_cols), so a rank never holds the full matrices.
LlamaWeights llama_weights_load_shard(const WeightSource& src, int rank, int size);

// Tensor-parallel rank tp_rank of tp_size's slice of the model (the whole model by default): base
// weights by llama_weights_load_shard, adapters as multilora_create(config, shared, task, tasks,
// seed, tp_rank, tp_size), B zero, so the outputs are the base model's until trained. The caller
// sets model.tp's communicator. Errors name the path and the offending field or tensor.
LlamaModel llama_model_load(const std::string& path, const LoraSpec& shared, const LoraSpec& task,
                            const std::vector<std::string>& tasks, uint64_t seed, int tp_rank = 0,
                            int tp_size = 1);

}  // namespace ckf
