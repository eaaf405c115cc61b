// What one rank trains: the frozen decoder with this replica's Multi-LoRA, the mapper, the frozen
// CF tables, and the trainable Params with their gradient-sync groups and gradient-norm flags.
#pragma once
#include <memory>
#include <vector>

#include "core/ckf_step.h"
#include "core/param.h"
#include "dist/grad_sync.h"
#include "dist/process_grid.h"
#include "io/model_identity.h"
#include "train/train_config.h"

namespace ckf {

struct TrainModel {
  LlamaModel model;
  Mapper mapper;
  CfTables cf;
  std::vector<Param> lora_params;        // (P_lora) Params sharing storage with the adapters' A, B, dA, dB
  ParamRefs params;                      // (P) every trainable Param: mapper (unless none), then LoRA
  std::vector<GradSyncItem> sync_items;  // (P) dp for shared adapters and the mapper, task:NAME for a task's
  std::vector<bool> count_in_norm;       // (P) each global tensor counted once (core/optimizer.h)
};

// The decoder's hyperparameters: read from the model file, or the tiny random configuration.
LlamaConfig train_llama_config(const TrainConfig& cfg);

// What checkpoints record of the base model (empty for a random one: not checked on resume).
ModelIdentity train_model_identity(const TrainConfig& cfg);

// Builds every part from the configuration; the decoder, adapters and mapper are pure functions
// of cfg.seed, so every replica starts from the same values. Heap-held: params points into it.
std::unique_ptr<TrainModel> train_model_create(const TrainConfig& cfg, const ProcessGrid& grid);

}  // namespace ckf
