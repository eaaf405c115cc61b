// One rank's checkpoint file (rank-NNNNN.h5):
//   root attributes: magic "ckf-checkpoint", kind "shard", format_version, step, rank, world,
//                    optimizer_step, curriculum_position
//   GROUP/NAME       f32 tensor shard, attributes global_shape, split_dim, split_offset
//                    (GROUP: param, adam_m, adam_v)
//   rng/NAME         uint8 RNG state bytes;  data_cursor  int64 values
//   extra_int/NAME int64[1], extra_double/NAME f64[1], extra_string/NAME uint8 bytes
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "core/param.h"
#include "io/checkpoint_manifest.h"

namespace ckf {

// Everything besides tensors that a run needs to continue exactly.
struct TrainState {
  int64_t step = 0;                                      // the trainer's step (names the checkpoint)
  int64_t optimizer_step = 0;                            // AdamW's applied-update count
  std::map<std::string, std::vector<uint8_t>> rng;       // named generator states, raw bytes
  std::vector<int64_t> data_cursor;                      // data-loader position
  int64_t curriculum_position = 0;
  std::map<std::string, int64_t> extra_int;
  std::map<std::string, double> extra_double;
  std::map<std::string, std::string> extra_string;
  bool operator==(const TrainState&) const = default;
};

// Names of the tensor groups: parameters and AdamW's two moments.
inline constexpr const char* kTensorGroups[] = {"param", "adam_m", "adam_v"};

// A named list of tensor shards saved together (one of kTensorGroups).
struct TensorGroup {
  std::string name;
  std::vector<Param*> tensors;
};

void shard_write(const std::filesystem::path& path, int rank, int world, const std::vector<TensorGroup>& groups,
                 const TrainState& state);
TrainState shard_read_state(const std::filesystem::path& path);
// Appends this file's shards to `tensors` (merging by group and name) for the manifest.
void shard_collect_refs(const std::filesystem::path& path, int rank, std::vector<TensorEntry>& tensors);

}  // namespace ckf
