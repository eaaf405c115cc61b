#include "dist/task_placement.h"

#include <algorithm>
#include <sstream>

#include "core/check.h"

namespace ckf {

const std::vector<int>& TaskPlacement::replicas_of(const std::string& task) const {
  auto it = std::find(tasks.begin(), tasks.end(), task);
  CKF_CHECK(it != tasks.end(), "task '" << task << "' has no replicas in placement '" << str() << "'");
  return replicas[it - tasks.begin()];
}

std::vector<std::string> TaskPlacement::tasks_of(int replica) const {
  std::vector<std::string> held;
  for (size_t t = 0; t < tasks.size(); ++t)
    if (std::binary_search(replicas[t].begin(), replicas[t].end(), replica)) held.push_back(tasks[t]);
  return held;
}

std::string TaskPlacement::str() const {
  std::ostringstream os;
  for (size_t t = 0; t < tasks.size(); ++t) {
    os << (t ? ";" : "") << tasks[t] << ":";
    for (size_t i = 0; i < replicas[t].size(); ++i) os << (i ? "," : "") << replicas[t][i];
  }
  return os.str();
}

TaskPlacement placement_round_robin(const std::vector<std::string>& tasks, int dp) {
  CKF_CHECK(dp >= 1, "task placement: data-parallel size " << dp << " must be at least 1");
  CKF_CHECK(!tasks.empty(), "task placement: no tasks to place");
  TaskPlacement p;
  p.dp = dp;
  p.tasks = tasks;
  const int n_tasks = static_cast<int>(tasks.size());
  p.replicas.resize(n_tasks);
  for (int t = 0; t < n_tasks; ++t) {
    CKF_CHECK(std::count(tasks.begin(), tasks.end(), tasks[t]) == 1, "task placement: task '" << tasks[t]
                                                                                               << "' listed twice");
    if (dp >= n_tasks) {
      for (int r = t; r < dp; r += n_tasks) p.replicas[t].push_back(r);
    } else {
      p.replicas[t].push_back(t % dp);
    }
  }
  return p;
}

static int parse_replica(const std::string& text, int dp, const std::string& task, const std::string& origin) {
  size_t used = 0;
  int r = -1;
  try {
    r = std::stoi(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  CKF_CHECK(!text.empty() && used == text.size(),
            origin << ": task '" << task << "': replica '" << text << "' is not an integer");
  CKF_CHECK(r >= 0 && r < dp, origin << ": task '" << task << "': replica " << r << " outside [0, " << dp
                                     << ") (data-parallel size " << dp << ")");
  return r;
}

TaskPlacement placement_parse(const std::string& spec, int dp, const std::string& origin) {
  CKF_CHECK(dp >= 1, origin << ": data-parallel size " << dp << " must be at least 1");
  TaskPlacement p;
  p.dp = dp;
  std::istringstream entries(spec);
  std::string entry;
  while (std::getline(entries, entry, ';')) {
    auto colon = entry.find(':');
    CKF_CHECK(colon != std::string::npos, origin << ": entry '" << entry << "' is not TASK:REPLICA,REPLICA...");
    std::string task = entry.substr(0, colon);
    CKF_CHECK(!task.empty(), origin << ": entry '" << entry << "' has no task name");
    CKF_CHECK(std::find(p.tasks.begin(), p.tasks.end(), task) == p.tasks.end(),
              origin << ": task '" << task << "' listed twice");
    std::vector<int> reps;
    std::istringstream list(entry.substr(colon + 1));
    std::string item;
    while (std::getline(list, item, ',')) {
      int r = parse_replica(item, dp, task, origin);
      CKF_CHECK(std::find(reps.begin(), reps.end(), r) == reps.end(),
                origin << ": task '" << task << "': replica " << r << " listed twice");
      reps.push_back(r);
    }
    CKF_CHECK(!reps.empty(), origin << ": task '" << task << "' has no replicas");
    std::sort(reps.begin(), reps.end());
    p.tasks.push_back(task);
    p.replicas.push_back(reps);
  }
  CKF_CHECK(!p.tasks.empty(), origin << ": '" << spec << "' places no task");
  for (int r = 0; r < dp; ++r)
    CKF_CHECK(!p.tasks_of(r).empty(), origin << ": replica " << r << " holds no task (every one of the " << dp
                                             << " replicas must train something)");
  return p;
}

}  // namespace ckf
