// The trainer's periodic evaluation (ckf train --eval-every N): at every N-th step each replica
// scores the valid samples of its own tasks with its model as it stands, by the deterministic
// scoring of `ckf eval` (eval_task.h: the first --eval-samples of each task, dealt in blocks over
// the task's replicas, each block one batched forward). The forward is collective over tp, so every
// tp rank of a replica runs the same blocks; topk uses the batched candidate forward, since the
// shared-prefix decoder has no tp. Evaluation runs without dropout and reads the Params only:
// gradients, optimizer state, the loader and the training's draws are untouched, so a run with
// evaluation trains exactly as one without.
#pragma once
#include <cstdint>
#include <ostream>
#include <vector>

#include "core/train/eval_input.h"
#include "core/train/train_model.h"

namespace ckf {

class TrainEval {
 public:
  // Loads the valid samples of this replica's tasks (once); the grid and model must outlive it.
  TrainEval(const TrainConfig& cfg, ProcessGrid& grid, const TrainModel& model);

  // Collective over the world: evaluates, gathers every task's result (configuration order) to every
  // rank, and on world rank 0 prints one line and appends {"step":..,"eval":{task:{group:{..}}}}
  // to metrics (when open).
  std::vector<EvalTaskResult> run(int64_t step, std::ostream* metrics);

 private:
  struct HeldTask {
    std::string name;
    EvalInput input;
    AnswerTokens tokens;
  };
  const TrainConfig& cfg_;
  ProcessGrid& grid_;
  const TrainModel& model_;
  std::vector<HeldTask> held_;  // this replica's tasks, configuration order
};

}  // namespace ckf
