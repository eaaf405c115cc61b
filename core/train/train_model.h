// What one rank trains: its tp slice of the frozen decoder with this replica's Multi-LoRA, the
// mapper (replicated over tp), the frozen CF tables, and the trainable Params with their
// gradient-sync groups and gradient-norm flags.
#pragma once
#include <memory>
#include <vector>

#include "core/ckf_step.h"
#include "core/param.h"
#include "dist/process_grid.h"
#include "dist/tp_communicator.h"
#include "io/model_identity.h"
#include "core/train/train_config.h"
#include "core/train/train_params.h"

namespace ckf {

struct TrainModel {
  std::unique_ptr<CommunicatorTp> tp_comm;  // model.tp's collectives over the grid's tp group
  LlamaModel model;
  Mapper mapper;
  CfTables cf;
  TrainParams trainable;  // mapper (unless none), then LoRA
};

// The decoder's hyperparameters: read from the model file, or the tiny random configuration.
LlamaConfig train_llama_config(const TrainConfig& cfg);

// What checkpoints record of the base model (empty for a random one: not checked on resume).
ModelIdentity train_model_identity(const TrainConfig& cfg);

// Builds every part from the configuration; the decoder, adapters and mapper are pure functions
// of cfg.seed (sliced for this tp rank), so every replica starts from the same values. Heap-held:
// trainable points into it; the grid must outlive it.
std::unique_ptr<TrainModel> train_model_create(const TrainConfig& cfg, ProcessGrid& grid);

}  // namespace ckf
