// The trainable Params of one rank, each with the group its gradient is averaged over and whether
// it counts in the global gradient norm (core/optimizer.h):
//   the mapper and the shared adapters: averaged over every DP replica (dp);
//   a task's adapters: averaged over the replicas of that task (task:NAME) only.
// Averaging each adapter over exactly the replicas whose samples reach it gives every adapter the
// gradient of the mean loss of its own samples, whatever the placement; the alternative (every
// gradient scaled to the mean over all replicas) would shrink a task adapter's gradient by
// |group| / dp, which AdamW undoes anyway except through clipping and epsilon.
// Under tensor parallelism a TP-partial gradient (LoraParam::tp_partial) is first summed over tp.
// Norm flags make each element of each global tensor count once: on the first replica of its group,
// and there on every tp rank for a tp-split Param, on tp rank 0 only for a replicated one.
#pragma once
#include <deque>
#include <string>
#include <vector>

#include "core/multi_lora.h"
#include "core/param.h"
#include "dist/grad_sync.h"
#include "dist/process_grid.h"

namespace ckf {

struct TrainParams {
  std::deque<Param> owned;               // Params over adapter storage (a deque keeps their addresses)
  ParamRefs params;                      // (P) every trainable Param, in a fixed order
  std::vector<GradSyncItem> sync_items;  // (P)
  std::vector<bool> count_in_norm;       // (P)
};

// Appends p, averaged over dp (task empty) or over the task's replicas.
void train_params_add(TrainParams& tp, Param* p, const std::string& task, bool tp_partial, const ProcessGrid& grid);

// Appends every adapter Param of lora, named "lora." + its LoraParam name, with its tp slice.
void train_params_add_lora(TrainParams& tp, MultiLora& lora, const ProcessGrid& grid);

}  // namespace ckf
