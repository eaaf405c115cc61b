// One task's deterministic evaluation over a group of ranks, as `ckf eval` and the trainer's
// periodic evaluation run it: the samples are cut into blocks of `batch` (topk: one sample a
// block, its candidates being the batch), block k scored on rank k % size of the group, the
// scores gathered on every rank in sample order, and the metrics computed from them. A block is one
// batched forward, so the numbers do not depend on the group's size (they may on `batch`).
#pragma once
#include "core/ckf_eval.h"
#include "dist/communicator.h"

namespace ckf {

constexpr int kEvalBatchDefault = 8;  // samples per batched forward unless configured

// Collective over comm (null: this rank alone). Every rank returns the same result.
EvalTaskResult eval_task_run(LogitsSource& source, const EvalInput& input, const AnswerTokens& tokens, int batch,
                             Communicator* comm);

}  // namespace ckf
