// The one entry point from a model file to a runnable model: a .gguf file or a Hugging Face model
// directory becomes a LlamaModel (config from the file, fp32 base weights, fresh Multi-LoRA).
// Checkpoints record which file with model_identity_of (io/model_identity.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/llama_config.h"
#include "core/llama_model.h"
#include "core/lora.h"

namespace ckf {

// The config alone (reads the header and the tensor table, dequantises nothing).
LlamaConfig llama_config_load(const std::string& path);

// Adapters as multilora_create(config, shared, task, tasks, seed): B zero, so the model's outputs
// are the base model's until trained. Errors name the path and the offending field or tensor.
LlamaModel llama_model_load(const std::string& path, const LoraSpec& shared, const LoraSpec& task,
                            const std::vector<std::string>& tasks, uint64_t seed);

}  // namespace ckf
