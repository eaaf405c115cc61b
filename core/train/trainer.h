// The CKF training loop (ARCHITECTURE §1-§2). Per step, on every rank:
//   1. the loader yields this replica's samples of each task it holds; each sample becomes one
//      example (topk: one per candidate), soft or text by the curriculum;
//   2. per task: forward and backward (train_backend.h: on the CPU, or with --device cuda on the
//      GPU); the objective is the sum over tasks of the task's loss weight times its mean
//      answer-token loss;
//   3. gradient sync: shared adapters and the mapper averaged over dp, a task's adapters over its
//      replicas (on the device, NCCL starts during the step's last backward);
//   4. AdamW with the global gradient norm (each distinct tensor counted once) and clipping; a
//      non-finite gradient anywhere skips the step on every rank;
//   5. rank 0 prints progress and appends a JSONL metrics line; checkpoints every N steps;
//      every --eval-every steps, an evaluation on the valid split (train_eval.h).
// Checkpoints hold the Params, AdamW moments and step, and every task's loader cursor (merged over
// the replicas); dropout and the curriculum are pure functions of (seed, step), so a resumed run
// continues bit-identically. SIGTERM / SIGUSR1 checkpoint and exit with kPreemptExitStatus.
#pragma once
#include "dist/communicator.h"
#include "core/train/train_config.h"

namespace ckf {

// Collective over `world`. Returns 0 at the end of the run (cfg.max_steps) and kPreemptExitStatus
// after a preemption checkpoint; throws on errors (including more than cfg.nonfinite_limit
// consecutive non-finite losses, after checkpointing the last good state).
int train_run(const TrainConfig& cfg, Communicator& world);

}  // namespace ckf
