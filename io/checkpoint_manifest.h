// Checkpoint manifest (manifest.h5 in ckpt/step-NNNNNNN/): what was saved and how it was laid out.
//   root attributes: magic "ckf-checkpoint", kind "manifest", format_version, step, world, tp, dp,
//                    placement (TaskPlacement::str()), config_text, config_hash (FNV-1a 64 of
//                    config_text), model_path, model_size, model_hash (io/model_identity.h),
//                    files (newline-separated shard file names, index = world rank)
//   tensors/GROUP/NAME: int64 dataset, one row (rank, split_dim, split_offset, local shape...) per
//                    saved shard, attribute global_shape. GROUP is param, adam_m or adam_v.
// The shard of row `rank` lives in files[rank] (rank-NNNNN.h5).
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/check.h"
#include "core/tensor.h"
#include "io/model_identity.h"

namespace ckf {

constexpr int64_t kCheckpointFormatVersion = 1;
constexpr const char* kCheckpointMagic = "ckf-checkpoint";

// A checkpoint written by a newer ckf: never skipped silently, the resume must stop.
struct CheckpointVersionError : Error {
  using Error::Error;
};

struct ShardRef {
  int rank = 0;               // world rank that saved it; its file is Manifest::files[rank]
  int split_dim = -1;         // -1: the whole tensor
  int64_t split_offset = 0;   // along split_dim, in the global tensor
  Shape shape;                // local shape
};

struct TensorEntry {
  std::string group;          // "param", "adam_m", "adam_v"
  std::string name;           // Param::name
  Shape global_shape;
  std::vector<ShardRef> shards;  // replicated tensors have one shard per replica
};

// What the trainer supplies about the run; stored and checked on resume.
struct CheckpointMeta {
  int tp = 1;
  int dp = 1;
  std::string placement;      // task placement string
  std::string config_text;    // the effective configuration (INI text)
  ModelIdentity model;
};

struct Manifest {
  int64_t format_version = kCheckpointFormatVersion;
  int64_t step = 0;
  int world = 1;
  CheckpointMeta meta;
  std::string config_hash;
  std::vector<std::string> files;      // (world) shard file per rank
  std::vector<TensorEntry> tensors;
};

std::string shard_file_name(int rank);  // "rank-00003.h5"
std::string config_hash_of(const std::string& config_text);

void manifest_write(const std::filesystem::path& path, const Manifest& m);
// Throws naming the file for a missing or wrong magic/kind, and refuses a format_version newer
// than this build's kCheckpointFormatVersion.
Manifest manifest_read(const std::filesystem::path& path);

const TensorEntry* manifest_find(const Manifest& m, const std::string& group, const std::string& name);

}  // namespace ckf
