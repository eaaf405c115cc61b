// AdamW over a list of Params with a learning-rate schedule, global gradient-norm clipping and
// non-finite-gradient skipping. The moments m and v are Params themselves (same name, shape and
// split metadata as the parameter they belong to), so checkpoints shard and reshard them exactly
// like the parameters.
//
// Gradient norm across ranks: step() computes this rank's sum of squares over the Params marked
// "count in norm" and hands it to the caller's reduction, which must return the same global sum on
// every rank (e.g. an all-reduce over the world). The flags must make every element of every
// global tensor count exactly once in that sum:
//   - shared Params (all-reduced over dp, identical on every replica) count on replica 0 only;
//   - a task's adapters count on the first replica of that task only;
//   - within the counting replica, a Param split over tp (split_dim >= 0) counts on every tp rank
//     (each holds a different slice), an unsplit one on tp rank 0 only.
// Uncounted Params are still checked: a NaN/inf in their gradient makes the local sum NaN, so a
// non-finite gradient anywhere skips the step on every rank, and all ranks clip by the same factor.
#pragma once
#include <cstdint>
#include <functional>
#include <vector>

#include "core/lr_schedule.h"
#include "core/param.h"
#include "kernels/cpu/adamw.h"

namespace ckf {

struct OptimizerConfig {
  cpu::AdamWConfig adamw;   // beta1, beta2, eps, weight_decay; its lr is replaced by the schedule's
  LrSchedule schedule;
  float max_grad_norm = 1.0f;  // clip the global norm to this; <= 0 disables clipping
};

// Local sum of squares -> global sum of squares (e.g. an all-reduce over the tp group).
using SumReduce = std::function<double(double)>;

struct StepResult {
  bool applied = false;    // false: a gradient was NaN/inf somewhere; nothing changed but the grads (zeroed)
  double grad_norm = 0;    // global norm before clipping (NaN/inf when skipped)
  float lr = 0;            // the learning rate used (of the step that would have run when skipped)
  float clip_scale = 1;    // factor the gradients were multiplied by
};

class AdamW {
 public:
  // count_in_norm: one flag per Param (empty = count all); see the header comment.
  AdamW(ParamRefs params, const OptimizerConfig& cfg, std::vector<bool> count_in_norm = {});

  // One update of every Param from its grad, then zeroes every grad. Non-finite gradients on any
  // rank (they make the reduced sum non-finite, since uncounted Params with a non-finite grad add
  // NaN to the local sum) skip the update on every rank: no parameter, moment or step changes.
  StepResult step(const SumReduce& reduce_sum_squares);

  int64_t step_count() const { return step_; }  // applied updates so far
  void set_step_count(int64_t step);             // resume
  const ParamRefs& params() const { return params_; }
  // Moments, index-aligned with params(); value holds the data, grad is empty.
  std::vector<Param>& moments_m() { return m_; }
  std::vector<Param>& moments_v() { return v_; }
  const std::vector<Param>& moments_m() const { return m_; }
  const std::vector<Param>& moments_v() const { return v_; }
  const OptimizerConfig& config() const { return cfg_; }

 private:
  ParamRefs params_;
  OptimizerConfig cfg_;
  std::vector<bool> count_in_norm_;  // (P)
  std::vector<Param> m_;             // (P) first moments, shapes of params_
  std::vector<Param> v_;             // (P) second moments
  int64_t step_ = 0;
};

}  // namespace ckf
