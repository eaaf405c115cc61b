// Checkpoint directory layout and bookkeeping (no HDF5 here):
//   DIR/step-NNNNNNN/          a checkpoint: manifest.h5, rank-NNNNN.h5 ..., COMPLETE
//   DIR/.step-NNNNNNN.tmp/     one being written (renamed to step-NNNNNNN when all shards are in)
// COMPLETE is written last (atomically) and lists every file with its size and CRC32 (zlib):
//   ckf-checkpoint-complete 1
//   manifest.h5 <bytes> <crc32 as 8 hex digits>
//   rank-00000.h5 <bytes> <crc32>
// A directory without it is incomplete, whatever else it holds.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ckf {

std::string checkpoint_dir_name(int64_t step);      // "step-0000042"
std::string checkpoint_tmp_name(int64_t step);      // ".step-0000042.tmp"
constexpr const char* kCompleteMarker = "COMPLETE";

// CRC32 (zlib) of a whole file; throws naming it when unreadable.
uint32_t file_crc32(const std::filesystem::path& path);

// Writes step_dir/COMPLETE listing `files` (names inside step_dir), atomically and fsynced.
void complete_write(const std::filesystem::path& step_dir, const std::vector<std::string>& files);
// Checks that COMPLETE exists and every file it lists has its size and CRC32; returns the names.
// Throws with the reason ("no COMPLETE marker", "rank-00001.h5: CRC32 ... expected ...").
std::vector<std::string> complete_verify(const std::filesystem::path& step_dir);

struct CheckpointDirEntry {
  int64_t step;
  std::filesystem::path path;
  bool tmp;        // a .step-N.tmp directory
  bool complete;   // holds COMPLETE (not verified)
};
// Entries of `dir` that look like checkpoints (step-N and .step-N.tmp), by ascending step.
std::vector<CheckpointDirEntry> checkpoint_dir_scan(const std::filesystem::path& dir);

// Keeps the newest keep_last complete checkpoints (keep_last <= 0 keeps all) and removes older
// complete ones, plus incomplete and temporary directories older than the newest complete one.
// Returns what it removed. Removal errors are reported by exception after the rest is done.
std::vector<std::filesystem::path> checkpoint_prune(const std::filesystem::path& dir, int keep_last);

}  // namespace ckf
