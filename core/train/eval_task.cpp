#include "core/train/eval_task.h"

#include "dist/gather_blocks.h"

namespace ckf {

EvalTaskResult eval_task_run(LogitsSource& source, const EvalInput& input, const AnswerTokens& tokens, int batch,
                             Communicator* comm) {
  const int block = input.kind == EvalKind::topk ? 1 : batch;
  const std::vector<float> local =
      eval_score_blocks(source, input, tokens, block, comm ? comm->rank() : 0, comm ? comm->size() : 1);
  const std::vector<float> scores =
      gather_blocks(comm, local, int64_t(block) * input.width, int64_t(input.samples.size()) * input.width);
  return eval_metrics(input, scores);
}

}  // namespace ckf
