#include "core/train/train_eval.h"

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "core/check.h"
#include "core/train/eval_task.h"
#include "io/catalog.h"
#include "io/eval_report.h"
#include "io/json_write.h"

namespace ckf {

namespace {

// The group and metric names of a task's result, values NaN: eval_metrics of no samples (every
// rank knows it, so only the values cross the network).
EvalTaskResult result_layout(const std::string& task) {
  EvalInput none;
  none.kind = eval_kind_of(task_parse(task));
  return eval_metrics(none, {});
}

}  // namespace

TrainEval::TrainEval(const TrainConfig& cfg, ProcessGrid& grid, const TrainModel& model)
    : cfg_(cfg), grid_(grid), model_(model) {
  const Tokenizer tok = tokenizer_load(cfg.eval_tokenizer.empty() ? cfg.model_path : cfg.eval_tokenizer);
  const Catalog catalog = catalog_read(std::filesystem::path(cfg.data_dir) / "catalog.h5");
  const PromptVariant variant = cfg.mapper == MapperMode::none ? PromptVariant::text : PromptVariant::soft;
  for (const std::string& name : grid.my_tasks()) {
    HeldTask t{name, {}, {}};
    t.input = eval_input_load(cfg.data_dir, Split::Valid, task_parse(name), variant, &tok, catalog.user_cold,
                              cfg.eval_samples, t.tokens);
    held_.push_back(std::move(t));
  }
}

std::vector<EvalTaskResult> TrainEval::run(int64_t step, std::ostream* metrics) {
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<EvalTaskResult> results;
  for (const std::string& name : cfg_.tasks) results.push_back(result_layout(name));
  // The values of every task's groups, (samples, metrics...) per group; each task's are filled by
  // one rank (tp rank 0 of the task's first replica), the rest stay 0 for the sum over the world.
  std::vector<double> values;
  std::vector<size_t> offset;  // (T) where each task's values start
  for (const EvalTaskResult& r : results) {
    offset.push_back(values.size());
    for (const EvalGroup& g : r.groups) values.resize(values.size() + 1 + g.metrics.size(), 0.0);
  }
  ModelLogits source(model_.model, model_.mapper, model_.cf, false);
  size_t t = 0;
  for (const HeldTask& h : held_) {  // configuration order on every replica, so no group waits on another
    while (cfg_.tasks[t] != h.name) ++t;
    Communicator& group = grid_.task(h.name);
    const EvalTaskResult r = eval_task_run(source, h.input, h.tokens, kEvalBatchDefault, &group);
    if (group.rank() != 0 || grid_.tp_rank() != 0) continue;
    double* v = values.data() + offset[t];
    for (const EvalGroup& g : r.groups) {
      *v++ = double(g.samples);
      for (const auto& m : g.metrics) *v++ = m.second;
    }
  }
  grid_.world().all_reduce(values.data(), int64_t(values.size()), ElemType::f64, ReduceOp::sum);
  for (size_t k = 0; k < results.size(); ++k) {
    const double* v = values.data() + offset[k];
    for (EvalGroup& g : results[k].groups) {
      g.samples = int64_t(*v++);
      for (auto& m : g.metrics) m.second = *v++;
    }
  }
  if (grid_.world().rank() != 0) return results;
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("eval step %lld:", (long long)step);
  for (size_t k = 0; k < results.size(); ++k) {
    const EvalGroup& all = results[k].groups[0];
    std::printf("  %s", cfg_.tasks[k].c_str());
    for (const auto& [metric, value] : all.metrics) std::printf(" %s %.4f", metric.c_str(), value);
    std::printf(" (%lld)", (long long)all.samples);
  }
  std::printf("  %.1fs\n", seconds);
  std::fflush(stdout);
  if (metrics)
    *metrics << json_write(Json(Json::Object{{"step", Json::integer(step)}, {"eval", eval_tasks_json(results)}}), 0)
             << "\n" << std::flush;
  return results;
}

}  // namespace ckf
