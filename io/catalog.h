// The catalog: a dataset's users, items, titles and interactions with dense ids, sorted by
// (user, time), each interaction tagged with its split. Built by `ckf prep` from a RawDataset,
// stored as catalog.h5, read by CF training, sample generation and the prompt renderer.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "io/raw.h"

namespace ckf {

inline constexpr int64_t kCatalogSchemaVersion = 1;

enum class Split : int8_t { Train = 0, Valid = 1, Test = 2 };
const char* split_name(Split s);
Split split_parse(const std::string& name);  // "train" | "valid" | "test"

enum class SplitKind {
  LeaveOneOut,  // per user by time: last -> test, second last -> valid, rest -> train (users with >= 3)
  Temporal,     // global time cut: the latest test_frac -> test, the valid_frac before it -> valid
};

struct CatalogOptions {
  std::string source;       // recorded in the file, e.g. "movielens-latest"
  int64_t min_user = 0;     // k-core: every user keeps >= min_user interactions (iterated to a fixpoint)
  int64_t min_item = 0;     // k-core: every item keeps >= min_item interactions
  SplitKind split = SplitKind::LeaveOneOut;
  double valid_frac = 0.1;  // Temporal only
  double test_frac = 0.1;   // Temporal only
  int64_t cold_max = 5;     // a user with <= cold_max train interactions is cold
};

struct Catalog {
  std::string source;
  std::string split_kind;             // "loo" | "temporal"
  int64_t cold_max = 0;
  std::vector<std::string> user_raw;  // (U) raw user id of each dense user id
  std::vector<std::string> item_raw;  // (I) raw item id of each dense item id
  std::vector<std::string> title;     // (I) UTF-8 title, "" when the source has none
  std::vector<uint8_t> user_cold;     // (U) 1 when the user has <= cold_max train interactions
  std::vector<int64_t> user_offset;   // (U+1) user u's interactions are [user_offset[u], user_offset[u+1])
  std::vector<int32_t> user;          // (N) dense user id, ascending
  std::vector<int32_t> item;          // (N) dense item id
  std::vector<float> rating;          // (N)
  std::vector<int64_t> timestamp;     // (N) ascending within a user
  std::vector<int8_t> split;          // (N) Split
  std::vector<std::string> review;    // (N) or empty: review text (Amazon)
  std::vector<std::string> summary;   // (N) or empty: review summary (Amazon)

  int32_t num_users() const { return int32_t(user_raw.size()); }
  int32_t num_items() const { return int32_t(item_raw.size()); }
  size_t size() const { return user.size(); }
  size_t count(Split s) const;
};

// Deduplicates (user, item) pairs (the latest interaction wins), applies the k-core filter, assigns
// dense ids in natural raw-id order (numeric ids numerically), sorts by (user, time, item), splits
// and flags cold users. Errors when nothing survives the filter.
Catalog catalog_build(RawDataset raw, const CatalogOptions& options);

// catalog.h5 (layout in the README). Written in place: callers go through atomic_write.
void catalog_write(const Catalog& catalog, const std::filesystem::path& file);
// Validates the schema, shapes and id ranges before returning.
Catalog catalog_read(const std::filesystem::path& file);

}  // namespace ckf
