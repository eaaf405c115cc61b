#include "io/loader.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"
#include "io/h5.h"
#include "io/sample_rows.h"

namespace ckf {

namespace fs = std::filesystem;

std::vector<LoaderTaskSpec> loader_composition(const std::vector<std::pair<Task, double>>& weights,
                                               int64_t global_batch) {
  CKF_CHECK(!weights.empty() && global_batch >= 0, "batch composition: no task weights or negative batch size");
  double total = 0;
  for (auto& [task, w] : weights) {
    CKF_CHECK(std::isfinite(w) && w >= 0,
              "batch composition: weight of task " << task_name(task) << " is " << w << " (must be finite, >= 0)");
    total += w;
  }
  CKF_CHECK(total > 0, "batch composition: every task weight is 0");
  std::vector<LoaderTaskSpec> out;
  std::vector<double> remainder;
  int64_t assigned = 0;
  for (auto& [task, w] : weights) {
    double share = double(global_batch) * w / total;
    out.push_back({task, int64_t(std::floor(share))});
    remainder.push_back(share - std::floor(share));
    assigned += out.back().global_batch;
  }
  std::vector<size_t> order(out.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return remainder[a] > remainder[b]; });
  for (size_t k = 0; assigned < global_batch; ++k, ++assigned) ++out[order[k % order.size()]].global_batch;
  return out;
}

ShardSource shard_source_files() {
  return ShardSource{[](const fs::path& file) {
                       int64_t n = H5File::open(file, "shard", kShardSchemaVersion).attr_int("num_samples");
                       CKF_CHECK(n >= 0, file.string() << ": negative num_samples " << n);
                       return n;
                     },
                     [](const fs::path& file) { return shard_read(file); }};
}

Loader::Loader(LoaderOptions options, const TaskPlacement& placement, int replica) : options_(std::move(options)) {
  CKF_CHECK(replica >= 0 && replica < placement.dp,
            "loader: replica " << replica << " outside [0, " << placement.dp << ")");
  for (const LoaderTaskSpec& spec : options_.tasks) {
    CKF_CHECK(spec.global_batch >= 0,
              "loader: task " << task_name(spec.task) << " has negative batch size " << spec.global_batch);
    CKF_CHECK(std::count_if(options_.tasks.begin(), options_.tasks.end(),
                            [&](const LoaderTaskSpec& t) { return t.task == spec.task; }) == 1,
              "loader: task " << task_name(spec.task) << " listed twice");
    const std::vector<int>& reps = placement.replicas_of(task_name(spec.task));
    auto at = std::find(reps.begin(), reps.end(), replica);
    if (at == reps.end()) continue;  // another replica's task: its files stay closed
    TaskState s{spec.task, spec.global_batch, int(reps.size()), int(at - reps.begin()), {}, {}, 0};
    s.files = shard_list(options_.dir, options_.split, spec.task);
    CKF_CHECK(!s.files.empty(), "loader: no shards at " << shard_path(options_.dir, options_.split, spec.task, 0)
                                                        << " (run `ckf prep` for this dataset)");
    for (const fs::path& f : s.files) {
      s.sizes.push_back(options_.source.count(f));
      s.n += s.sizes.back();
    }
    CKF_CHECK(s.n > 0, "loader: the " << task_name(spec.task) << "/" << split_name(options_.split) << " shards under "
                                      << options_.dir << " hold no samples");
    tasks_.push_back(std::move(s));
    cursor_.tasks.push_back(TaskCursor{spec.task, 0, 0});
  }
  CKF_CHECK(!tasks_.empty(), "loader: replica " << replica << " holds none of the loader's tasks");
  CKF_CHECK(options_.shard_window >= 0, "loader: shard window " << options_.shard_window << " must be >= 0");
  ahead_ = cursor_;
  orders_.resize(tasks_.size());
  prefetch_start();
}

const Loader::TaskState& Loader::state(Task task) const {
  for (const TaskState& s : tasks_)
    if (s.task == task) return s;
  CKF_FAIL("loader: task " << task_name(task) << " is not served by this replica");
}

int64_t Loader::num_samples(Task task) const { return state(task).n; }

const std::vector<fs::path>& Loader::shards(Task task) const { return state(task).files; }

void Loader::prefetch_start() {
  prefetch_ = std::make_unique<Prefetcher<LoaderBatch>>([this] { return produce(); }, options_.prefetch);
}

LoaderBatch Loader::next() {
  LoaderBatch b = prefetch_->next();
  cursor_ = b.cursor;
  return b;
}

void Loader::seek(const LoaderCursor& cursor) {
  LoaderCursor c{cursor.step, {}};
  CKF_CHECK(c.step >= 0, "loader cursor: negative step " << c.step);
  for (const TaskState& s : tasks_) {
    auto it =
        std::find_if(cursor.tasks.begin(), cursor.tasks.end(), [&](const TaskCursor& t) { return t.task == s.task; });
    CKF_CHECK(it != cursor.tasks.end(), "loader cursor has no entry for task " << task_name(s.task));
    CKF_CHECK(it->epoch >= 0 && it->position >= 0 && it->position < s.n,
              "loader cursor of task " << task_name(s.task) << ": epoch " << it->epoch << ", position " << it->position
                                       << " outside its " << s.n << " samples (dataset changed?)");
    c.tasks.push_back(*it);
  }
  prefetch_.reset();  // joins the thread: ahead_ and the cache are ours again
  cursor_ = ahead_ = c;
  prefetch_start();
}

std::shared_ptr<const SampleTable> Loader::shard_get(size_t slot, size_t shard) {
  ShardKey key{slot, shard};
  if (auto hit = cache_index_.find(key); hit != cache_index_.end()) {
    cache_.splice(cache_.begin(), cache_, hit->second);
    return hit->second->second;
  }
  const TaskState& s = tasks_[slot];
  const fs::path& file = s.files[shard];
  SampleTable table;
  try {
    table = options_.source.read(file);
  } catch (const std::exception& e) {
    CKF_FAIL("loader: reading shard " << file.string() << ": " << e.what());
  }
  int64_t expected = s.sizes[shard];
  CKF_CHECK(table.task == s.task && table.split == options_.split,
            "loader: shard " << file.string() << " holds " << task_name(table.task) << "/" << split_name(table.split)
                             << " samples, expected " << task_name(s.task) << "/" << split_name(options_.split));
  CKF_CHECK(int64_t(table.size()) == expected, "loader: shard " << file.string() << " holds " << table.size()
                                                                << " samples, but its num_samples said " << expected
                                                                << " when the loader opened it (file replaced?)");
  auto ptr = std::make_shared<const SampleTable>(std::move(table));
  cache_.emplace_front(key, ptr);
  cache_index_[key] = cache_.begin();
  if (options_.cache_shards > 0 && cache_.size() > options_.cache_shards) {
    cache_index_.erase(cache_.back().first);
    cache_.pop_back();
  }
  return ptr;
}

LoaderBatch Loader::produce() {
  LoaderBatch b;
  b.step = ahead_.step;
  for (size_t slot = 0; slot < tasks_.size(); ++slot) {
    const TaskState& s = tasks_[slot];
    TaskCursor& c = ahead_.tasks[slot];
    EpochOrder& order = orders_[slot];
    const int64_t n = s.n;
    TaskBatch part;
    part.task = s.task;
    part.positions = order_replica_positions(c.epoch * n + c.position, s.global_batch, s.replicas, s.rank);
    part.samples.task = s.task;
    part.samples.split = options_.split;
    // Each shard the step needs is fetched once and held until the rows are gathered, so a cache
    // smaller than a step's shards costs one decode per shard per step, not one per sample.
    std::map<int64_t, std::shared_ptr<const SampleTable>> held;
    for (int64_t g : part.positions) {
      if (order.epoch != g / n) order = order_epoch(options_.seed, s.task, g / n, s.sizes, options_.shard_window);
      part.refs.push_back(order_locate(order, g % n));
      held.emplace(part.refs.back().shard, nullptr);
    }
    for (auto& [shard, table] : held) table = shard_get(slot, size_t(shard));
    for (const SampleRef& r : part.refs) sample_table_append_row(part.samples, *held[r.shard], size_t(r.row));
    c = order_advance(c, n, s.global_batch);
    b.tasks.push_back(std::move(part));
  }
  ++ahead_.step;
  b.cursor = ahead_;
  return b;
}

}  // namespace ckf
