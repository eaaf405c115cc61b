// Task sample shards: DIR/<split>/<task>/shard-NNNNN.h5, each a table of samples of one task and
// split as integer arrays. Tokenized prompts are added later as extra datasets under /prompt (see
// the README's layout); readers ignore datasets they do not know, so that needs no version bump.
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "io/catalog.h"

namespace ckf {

inline constexpr int64_t kShardSchemaVersion = 1;

enum class Task : int8_t { Ctr = 0, Sequential = 1, Rating = 2, Topk = 3 };
inline constexpr Task kAllTasks[] = {Task::Ctr, Task::Sequential, Task::Rating, Task::Topk};
const char* task_name(Task t);
Task task_parse(const std::string& name);  // "ctr" | "sequential" | "rating" | "topk"

// One sample, viewed inside a SampleTable.
struct SampleView {
  Task task;
  int32_t user;
  int32_t target;                       // the item asked about / the true next item / the held-out positive
  float label;                          // ctr: 1 or 0; rating: the rating; sequential, topk: index of target in candidates
  std::span<const int32_t> history;     // (history_len) oldest first, without padding
  std::span<const float> history_rating;  // (history_len)
  std::span<const int32_t> candidates;  // (num_candidates) without padding; empty for ctr and rating
};

struct SampleTable {
  Task task = Task::Ctr;
  Split split = Split::Train;
  int32_t history_len = 0;      // H: history window
  int32_t num_candidates = 0;   // C: candidate list width (0 for ctr and rating)
  std::vector<int32_t> user;             // (N)
  std::vector<int32_t> target;           // (N)
  std::vector<float> label;              // (N)
  std::vector<int32_t> history;          // (N, H) item ids, oldest first, -1 padded at the end
  std::vector<float> history_rating;     // (N, H) ratings of history, 0 padded
  std::vector<int32_t> candidates;       // (N, C) item ids, -1 padded at the end

  size_t size() const { return user.size(); }
  void clear();
  void push(int32_t user, int32_t target, float label, std::span<const int32_t> history,
            std::span<const float> history_rating, std::span<const int32_t> candidates);
  SampleView at(size_t i) const;
};

// Metadata every shard carries besides its table.
struct ShardInfo {
  int64_t index = 0;      // NNNNN
  uint64_t seed = 0;      // --seed the samples were drawn with
  int64_t num_users = 0;  // catalog sizes the ids refer to
  int64_t num_items = 0;
};

std::filesystem::path shard_path(const std::filesystem::path& dir, Split split, Task task, int64_t index);
// The shards of (split, task) in index order; empty when there are none.
std::vector<std::filesystem::path> shard_list(const std::filesystem::path& dir, Split split, Task task);

void shard_write(const SampleTable& table, const ShardInfo& info, const std::filesystem::path& file);
// Validates schema, shapes and every id against num_users/num_items before returning.
SampleTable shard_read(const std::filesystem::path& file, ShardInfo* info = nullptr);

}  // namespace ckf
