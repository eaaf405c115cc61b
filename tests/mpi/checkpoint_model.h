// A small sharded "model" for the checkpoint tests and the kill-loop tool: every element of every
// global tensor has a value that is a pure function of (tensor, group, global index, step), so any
// rank of any TP x DP grid can build its shards and check what it loaded, bit for bit.
//   w_col  (8, 5)   split on dim 0 over tp (column-parallel weight)
//   w_row  (3, 12)  split on dim 1 over tp (row-parallel weight)
//   norm   (7)      replicated
//   lora.TASK.A (4, 6) replicated, held only by the replicas of TASK (tasks ctr, seq)
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/optimizer.h"
#include "dist/task_placement.h"
#include "io/checkpoint.h"
#include "io/model_identity.h"

namespace ckf::test {

// Exactly representable values that differ for every (name, group, index, step).
inline float pattern_value(const std::string& name, const std::string& group, int64_t index, int64_t step) {
  uint64_t h = fnv1a64(name.data(), name.size());
  h = fnv1a64(group.data(), group.size(), h);
  h = (h ^ static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ull) + static_cast<uint64_t>(step) * 0xBF58476D1CE4E5B9ull;
  h ^= h >> 29;
  return static_cast<float>(static_cast<int64_t>(h % 2000003) - 1000001) / 1024.0f;
}

struct GridPos {
  int tp = 1, dp = 1, tp_rank = 0, dp_rank = 0;
};

inline TaskPlacement test_placement(int dp) { return placement_round_robin({"ctr", "seq"}, dp); }

// The Params rank `pos` holds (values zero).
inline std::vector<Param> model_params(const GridPos& pos) {
  auto split = [&](const std::string& name, Shape global, int dim) {
    Shape local = global;
    local[dim] /= pos.tp;
    Param p = Param::make(name, local);
    p.global_shape = global;
    p.split_dim = dim;
    p.split_offset = local[dim] * pos.tp_rank;
    return p;
  };
  std::vector<Param> ps{split("w_col", {8, 5}, 0), split("w_row", {3, 12}, 1), Param::make("norm", {7})};
  for (const std::string& task : test_placement(pos.dp).tasks_of(pos.dp_rank)) ps.push_back(Param::make("lora." + task + ".A", {4, 6}));
  return ps;
}

inline ParamRefs refs_of(std::vector<Param>& ps) {
  ParamRefs r;
  for (Param& p : ps) r.push_back(&p);
  return r;
}

// Global flat index of local element i of p.
inline int64_t global_index(const Param& p, int64_t i) {
  const Shape& local = p.value.shape();
  int64_t g = 0, rest = i;
  std::vector<int64_t> idx(local.size());
  for (size_t d = local.size(); d-- > 0;) {
    idx[d] = rest % local[d];
    rest /= local[d];
  }
  if (p.split_dim >= 0) idx[p.split_dim] += p.split_offset;
  for (size_t d = 0; d < local.size(); d++) g = g * p.global_shape[d] + idx[d];
  return g;
}

inline void fill_pattern(Param& p, const std::string& group, int64_t step) {
  float* v = p.value.data<float>();
  for (int64_t i = 0; i < p.value.numel(); i++) v[i] = pattern_value(p.name, group, global_index(p, i), step);
}

// Number of elements of p that differ from the pattern.
inline int64_t count_mismatches(const Param& p, const std::string& group, int64_t step) {
  int64_t bad = 0;
  const float* v = p.value.data<float>();
  for (int64_t i = 0; i < p.value.numel(); i++) bad += v[i] != pattern_value(p.name, group, global_index(p, i), step);
  return bad;
}

// Per-rank train state of `step` saved by world rank `rank`.
inline TrainState pattern_state(int64_t step, int rank) {
  TrainState s;
  s.step = step;
  s.optimizer_step = step * 3 + 1;
  std::vector<uint8_t> bytes(33);
  for (size_t i = 0; i < bytes.size(); i++) bytes[i] = static_cast<uint8_t>(step * 31 + rank * 7 + i * 13);
  s.rng["torch"] = bytes;
  s.rng["dropout"] = std::vector<uint8_t>(bytes.rbegin(), bytes.rend());
  s.data_cursor = {step * 100 + rank, 7, -1};
  s.curriculum_position = step / 2;
  s.extra_int["epoch"] = step / 3;
  s.extra_double["loss_ema"] = 1.0 / static_cast<double>(step + 1);
  s.extra_string["run_id"] = "run-" + std::to_string(rank);
  return s;
}

inline CheckpointMeta test_meta(int tp, int dp, const std::string& model_hash = "fnv1a64-sampled:00000000000000aa") {
  return CheckpointMeta{tp, dp, test_placement(dp).str(), "[train]\nlr = 1e-4\n", ModelIdentity{"model.gguf", 1234, model_hash}};
}

inline ModelIdentity test_model() { return test_meta(1, 1).model; }

// Sets params and optimizer moments to the pattern of `step`.
inline void fill_all(std::vector<Param>& ps, AdamW& opt, int64_t step) {
  for (size_t k = 0; k < ps.size(); k++) {
    fill_pattern(ps[k], "param", step);
    fill_pattern(opt.moments_m()[k], "adam_m", step);
    fill_pattern(opt.moments_v()[k], "adam_v", step);
  }
  opt.set_step_count(step * 3 + 1);
}

inline int64_t count_all_mismatches(std::vector<Param>& ps, AdamW& opt, int64_t step) {
  int64_t bad = 0;
  for (size_t k = 0; k < ps.size(); k++)
    bad += count_mismatches(ps[k], "param", step) + count_mismatches(opt.moments_m()[k], "adam_m", step) +
           count_mismatches(opt.moments_v()[k], "adam_v", step);
  return bad;
}

inline std::unique_ptr<AdamW> make_optimizer(std::vector<Param>& ps) {
  return std::make_unique<AdamW>(refs_of(ps), OptimizerConfig{});
}

}  // namespace ckf::test
