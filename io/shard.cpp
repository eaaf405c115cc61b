// Shard files; the layout is documented in the README ("Dataset files").
#include "io/shard.h"

#include <algorithm>
#include <cstdio>

#include "core/check.h"
#include "io/h5.h"
#include "io/shard_prompt.h"

namespace ckf {

namespace fs = std::filesystem;

const char* task_name(Task t) {
  static const char* names[] = {"ctr", "sequential", "rating", "topk"};
  return names[int(t)];
}

Task task_parse(const std::string& name) {
  for (Task t : kAllTasks)
    if (name == task_name(t)) return t;
  CKF_FAIL("unknown task '" << name << "' (ctr, sequential, rating or topk)");
}

void SampleTable::clear() {
  user.clear();
  target.clear();
  label.clear();
  history.clear();
  history_rating.clear();
  candidates.clear();
  has_prompts = false;
  prompts.clear();
}

void SampleTable::push(int32_t u, int32_t t, float l, std::span<const int32_t> hist, std::span<const float> hist_rating,
                       std::span<const int32_t> cand) {
  CKF_CHECK(hist.size() <= size_t(history_len) && hist_rating.size() == hist.size() &&
                cand.size() <= size_t(num_candidates),
            "sample does not fit the table's history_len " << history_len << " / num_candidates " << num_candidates);
  user.push_back(u);
  target.push_back(t);
  label.push_back(l);
  history.insert(history.end(), hist.begin(), hist.end());
  history.insert(history.end(), size_t(history_len) - hist.size(), -1);
  history_rating.insert(history_rating.end(), hist_rating.begin(), hist_rating.end());
  history_rating.insert(history_rating.end(), size_t(history_len) - hist.size(), 0.0f);
  candidates.insert(candidates.end(), cand.begin(), cand.end());
  candidates.insert(candidates.end(), size_t(num_candidates) - cand.size(), -1);
}

SampleView SampleTable::at(size_t i) const {
  auto used = [](const int32_t* p, size_t width) {
    return size_t(std::find(p, p + width, -1) - p);
  };
  const int32_t* h = history.data() + i * size_t(history_len);
  const int32_t* c = candidates.data() + i * size_t(num_candidates);
  size_t nh = used(h, size_t(history_len)), nc = used(c, size_t(num_candidates));
  return SampleView{task, user[i], target[i], label[i], {h, nh},
                    {history_rating.data() + i * size_t(history_len), nh}, {c, nc}};
}

fs::path shard_path(const fs::path& dir, Split split, Task task, int64_t index) {
  char name[32];
  std::snprintf(name, sizeof name, "shard-%05lld.h5", (long long)index);
  return dir / split_name(split) / task_name(task) / name;
}

std::vector<fs::path> shard_list(const fs::path& dir, Split split, Task task) {
  std::vector<fs::path> out;
  for (int64_t i = 0;; ++i) {
    fs::path p = shard_path(dir, split, task, i);
    if (!fs::exists(p)) return out;
    out.push_back(p);
  }
}

void shard_write(const SampleTable& t, const ShardInfo& info, const fs::path& file) {
  H5File f = H5File::create(file, "shard", t.has_prompts ? kShardSchemaVersion : int64_t(1));
  f.set_attr("task", std::string(task_name(t.task)));
  f.set_attr("split", std::string(split_name(t.split)));
  f.set_attr("shard_index", info.index);
  f.set_attr("seed", int64_t(info.seed));
  f.set_attr("num_users", info.num_users);
  f.set_attr("num_items", info.num_items);
  f.set_attr("num_samples", int64_t(t.size()));
  f.set_attr("history_len", int64_t(t.history_len));
  f.set_attr("num_candidates", int64_t(t.num_candidates));
  std::vector<int8_t> task(t.size(), int8_t(t.task));
  int64_t n = int64_t(t.size());
  f.write("task", task);
  f.write("user", t.user);
  f.write("target", t.target);
  f.write("label", t.label);
  f.write("history", t.history, {n, t.history_len});
  f.write("history_rating", t.history_rating, {n, t.history_len});
  f.write("candidates", t.candidates, {n, t.num_candidates});
  if (t.has_prompts) {
    CKF_CHECK(!info.tokenizer.empty(), file.string() << ": prompts without a tokenizer identity");
    f.set_attr("tokenizer", info.tokenizer);
    shard_prompt_write(f, t);
  }
  f.close();
}

SampleTable shard_read(const fs::path& file, ShardInfo* info_out) {
  H5File f = H5File::open(file, "shard", kShardSchemaVersion);
  const std::string name = file.string();
  SampleTable t;
  t.task = task_parse(f.attr_string("task"));
  t.split = split_parse(f.attr_string("split"));
  t.history_len = int32_t(f.attr_int("history_len"));
  t.num_candidates = int32_t(f.attr_int("num_candidates"));
  ShardInfo info{f.attr_int("shard_index"), uint64_t(f.attr_int("seed")), f.attr_int("num_users"),
                 f.attr_int("num_items")};
  int64_t n = f.attr_int("num_samples");
  std::vector<int8_t> task = f.read<int8_t>("task");
  t.user = f.read<int32_t>("user");
  t.target = f.read<int32_t>("target");
  t.label = f.read<float>("label");
  t.history = f.read<int32_t>("history", 2);
  t.history_rating = f.read<float>("history_rating", 2);
  t.candidates = f.read<int32_t>("candidates", 2);

  size_t N = size_t(n), H = size_t(t.history_len), C = size_t(t.num_candidates);
  CKF_CHECK(n >= 0 && t.history_len >= 0 && t.num_candidates >= 0, name << ": negative size attribute");
  CKF_CHECK(task.size() == N && t.user.size() == N && t.target.size() == N && t.label.size() == N &&
                t.history.size() == N * H && t.history_rating.size() == N * H && t.candidates.size() == N * C,
            name << ": datasets disagree with num_samples " << n << ", history_len " << H << ", num_candidates " << C);
  auto item_ok = [&](int32_t i) { return i >= 0 && i < info.num_items; };
  for (size_t i = 0; i < N; ++i) {
    CKF_CHECK(task[i] == int8_t(t.task), name << ": sample " << i << " has task " << int(task[i]) << ", file says "
                                              << task_name(t.task));
    CKF_CHECK(t.user[i] >= 0 && t.user[i] < info.num_users, name << ": user[" << i << "] = " << t.user[i]
                                                                 << " outside [0, " << info.num_users << ")");
    CKF_CHECK(item_ok(t.target[i]), name << ": target[" << i << "] = " << t.target[i] << " outside [0, "
                                         << info.num_items << ")");
    for (size_t k = 0; k < H; ++k)
      CKF_CHECK(t.history[i * H + k] == -1 || item_ok(t.history[i * H + k]), name << ": history[" << i << "] holds "
                                                                                 << t.history[i * H + k]);
    for (size_t k = 0; k < C; ++k)
      CKF_CHECK(t.candidates[i * C + k] == -1 || item_ok(t.candidates[i * C + k]),
                name << ": candidates[" << i << "] holds " << t.candidates[i * C + k]);
  }
  if (f.attr_int("schema_version") >= 2 && f.has("prompt")) {
    info.tokenizer = f.attr_string("tokenizer");
    t.has_prompts = true;
    shard_prompt_read(f, t, info);
  }
  if (info_out) *info_out = info;
  return t;
}

void shard_check_tokenizer(const fs::path& file, const ShardInfo& info, const std::string& model_identity) {
  CKF_CHECK(!info.tokenizer.empty(), file.string() << " holds no tokenized prompts (made by ckf prep without --model); "
                                                   << "rerun ckf prep --model with the model's tokenizer");
  CKF_CHECK(info.tokenizer == model_identity,
            file.string() << " was tokenized with " << info.tokenizer << " but the model's tokenizer is "
                          << model_identity << "; rerun ckf prep --model with this model");
}

}  // namespace ckf
