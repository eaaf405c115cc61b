// Task sample shards: DIR/<split>/<task>/shard-NNNNN.h5, each a table of samples of one task and
// split as integer arrays, optionally with the tokenized prompts under /prompt (schema version 2;
// version 1 files have no prompts and stay readable). Layout in the README ("Dataset files").
#pragma once
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "io/catalog.h"

namespace ckf {

inline constexpr int64_t kShardSchemaVersion = 2;  // newest written and read; 1: no /prompt group

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

// Rows of token ids of different lengths: row r is value[offset[r], offset[r+1]).
struct Ragged {
  std::vector<int64_t> offset{0};  // (rows+1)
  std::vector<int32_t> value;      // (offset.back())

  size_t rows() const { return offset.size() - 1; }
  std::span<const int32_t> row(size_t r) const {
    return {value.data() + offset[r], size_t(offset[r + 1] - offset[r])};
  }
  void push(std::span<const int32_t> ids) {
    value.insert(value.end(), ids.begin(), ids.end());
    offset.push_back(int64_t(value.size()));
  }
};

// Tokenized prompts of a SampleTable (io/prompt_encode.h). Every sample has a soft variant (one
// placeholder token per user/item soft token) and a text-only variant (titles only). Answers carry
// no placeholders and serve both variants. topk splits each prompt into a prefix shared by all
// candidates and one suffix per candidate (candidate title, its placeholder, the question), so an
// evaluator can reuse the prefix's KV cache; its answers are per candidate.
struct PromptColumns {
  int32_t placeholder_id = -1;          // the token id at every soft-token position
  Ragged soft;                          // (N rows) prompt with placeholders; topk: shared prefix
  Ragged text;                          // (N rows) text-only prompt; topk: shared prefix
  Ragged answer;                        // (N rows) answer tokens; topk: empty rows
  std::vector<int64_t> slot_offset{0};  // (N+1) sample i's placeholders are [slot_offset[i], slot_offset[i+1])
  std::vector<int32_t> slot_position;   // (S) index into the sample's soft row
  std::vector<int8_t> slot_kind;        // (S) 0 user, 1 item (TextPlaceholder::Kind)
  std::vector<int32_t> slot_id;         // (S) the user or item id the soft token stands for
  // topk only (else empty, 1-element offsets): row i*C + j belongs to candidate j of sample i.
  Ragged suffix_soft;                   // (N*C rows) continues soft[i]; holds exactly one placeholder
  Ragged suffix_text;                   // (N*C rows) continues text[i]
  Ragged suffix_answer;                 // (N*C rows) "Yes" for the target, "No" otherwise
  std::vector<int32_t> suffix_slot;     // (N*C) position of the candidate's placeholder in its suffix_soft row

  void clear() { *this = PromptColumns{}; }
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
  bool has_prompts = false;              // prompts filled (then written as schema version 2)
  PromptColumns prompts;

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
  std::string tokenizer;  // Tokenizer::identity() of the prompts; "" when the shard has none
};

std::filesystem::path shard_path(const std::filesystem::path& dir, Split split, Task task, int64_t index);
// The shards of (split, task) in index order; empty when there are none.
std::vector<std::filesystem::path> shard_list(const std::filesystem::path& dir, Split split, Task task);

void shard_write(const SampleTable& table, const ShardInfo& info, const std::filesystem::path& file);
// Validates schema, shapes and every id against num_users/num_items before returning.
SampleTable shard_read(const std::filesystem::path& file, ShardInfo* info = nullptr);

// Refuses prompts tokenized by another tokenizer (or a shard without prompts): the error names the
// file and both identities.
void shard_check_tokenizer(const std::filesystem::path& file, const ShardInfo& info,
                           const std::string& model_identity);

}  // namespace ckf
