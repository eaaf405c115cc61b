// The `ckf eval` result file: per task, the metrics of all, warm and cold users with their sample
// counts, and what was evaluated. Undefined metrics (NaN: a group without both classes, or empty)
// are written as null.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/ckf_eval.h"
#include "io/json.h"

namespace ckf {

struct EvalReportInfo {
  std::string split;       // "valid" | "test"
  std::string variant;     // "soft" | "text" | "cf"
  std::string checkpoint;  // the evaluated checkpoint directory (cf: the embeddings file), "" for none
  int64_t max_samples = -1;  // per task, -1: all
};

Json eval_report_json(const EvalReportInfo& info, const std::vector<EvalTaskResult>& tasks);
// The report's "tasks" member: {task: {group: {"samples": n, metric: value, ...}, ...}, ...}.
Json eval_tasks_json(const std::vector<EvalTaskResult>& tasks);

// Written whole or not at all (io/atomic_file.h).
void eval_report_write(const std::filesystem::path& path, const Json& report);

}  // namespace ckf
