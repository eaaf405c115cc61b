#include "io/eval_report.h"

#include <fstream>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/json_write.h"

namespace ckf {

Json eval_tasks_json(const std::vector<EvalTaskResult>& tasks) {
  Json::Object tasks_json;
  for (const EvalTaskResult& t : tasks) {
    Json::Object groups;
    for (const EvalGroup& g : t.groups) {
      Json::Object m{{"samples", Json::integer(g.samples)}};
      for (const auto& [name, value] : g.metrics) m.push_back({name, Json(value)});
      groups.push_back({g.name, Json(std::move(m))});
    }
    tasks_json.push_back({eval_kind_name(t.kind), Json(std::move(groups))});
  }
  return Json(std::move(tasks_json));
}

Json eval_report_json(const EvalReportInfo& info, const std::vector<EvalTaskResult>& tasks) {
  return Json(Json::Object{{"split", Json(info.split)},
                           {"variant", Json(info.variant)},
                           {"checkpoint", Json(info.checkpoint)},
                           {"max_samples", Json::integer(info.max_samples)},
                           {"tasks", eval_tasks_json(tasks)}});
}

void eval_report_write(const std::filesystem::path& path, const Json& report) {
  const std::string text = json_write(report);
  atomic_write(path, [&](const std::filesystem::path& tmp) {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    f.close();
    CKF_CHECK(f.good(), "eval report " << tmp << ": write failed");
  });
}

}  // namespace ckf
