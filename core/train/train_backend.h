// Where a training step's compute runs: the CPU path (the reference: core/ckf_step.h, dist/grad_sync.h,
// core/optimizer.h) or the device path (core/cuda: the decoder, mapper, gradient sync through NCCL
// and AdamW all on the GPU; the host only feeds batches). The trainer drives either through this
// interface; what it keeps for checkpoints and evaluation is always the host TrainModel and AdamW,
// which a device backend refreshes on to_host() and reads back on from_host().
#pragma once
#include <memory>
#include <vector>

#include "core/ckf_step.h"
#include "core/optimizer.h"
#include "dist/grad_sync.h"
#include "dist/process_grid.h"
#include "core/train/train_config.h"
#include "core/train/train_model.h"

namespace ckf {

class TrainBackend {
 public:
  virtual ~TrainBackend() = default;

  // Forward and backward of one task's examples: adds weight * (gradient of their mean
  // answer-token loss) to the trainable gradients and returns that mean loss. `last` marks the
  // step's last task (its backward may start the gradient all-reduce as layers finish).
  virtual float task_step(const std::vector<CkfExample>& examples, const LlamaRunMode& mode, double weight,
                          bool last) = 0;
  // Collective: each gradient becomes its group's mean (dist/grad_sync.h).
  virtual void grad_sync() = 0;
  // AdamW on every trainable Param (core/optimizer.h semantics), zeroing the gradients.
  virtual StepResult optimizer_step(const SumReduce& reduce_sum_squares) = 0;
  // What the last grad_sync moved, per group.
  virtual const std::vector<GradSyncGroupStats>& sync_stats() const = 0;
  // The host TrainModel's Params and the host AdamW (moments, step count) take the backend's
  // current values / are pushed to the backend (after a resume). No-ops on the CPU.
  virtual void to_host() = 0;
  virtual void from_host() = 0;
};

// The CPU path over `model`'s Params and `opt`; both must outlive the backend.
std::unique_ptr<TrainBackend> train_backend_cpu_create(const TrainConfig& cfg, ProcessGrid& grid, TrainModel& model,
                                                       AdamW& opt);

// The device path (cfg.device == "cuda"); throws naming --device in a build without CUDA, with
// --tp > 1 (the device decoder holds whole weights), or when no GPU is usable.
std::unique_ptr<TrainBackend> train_backend_cuda_create(const TrainConfig& cfg, ProcessGrid& grid,
                                                        TrainModel& model, AdamW& opt);

}  // namespace ckf
