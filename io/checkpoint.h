// Sharded checkpoints with exact resume and resharding (ARCHITECTURE §4). The trainer calls:
//
//   checkpoint_save(world, dir, keep_last, meta, params, &opt, state);   // every rank, collectively
//   auto found = checkpoint_find_latest(dir);                            // newest intact one
//   if (found) checkpoint_load(*found, model_identity_of(model_file), params, &opt, &state, rank);
//
// Layout and COMPLETE marker: io/checkpoint_dir.h; manifest.h5: io/checkpoint_manifest.h;
// rank-NNNNN.h5: io/checkpoint_shard.h. DIR must be one file system that every rank sees (rank 0
// renames the directory the others wrote into).
//
// Write sequence: rank 0 creates DIR/.step-N.tmp/; every rank writes and fsyncs its shard file
// into it; the ranks agree (an all-reduce, which is also the barrier) that every write succeeded;
// rank 0 writes manifest.h5 from the shard files' metadata, fsyncs, renames the directory to
// step-N, writes COMPLETE with each file's size and CRC32, and only then prunes to keep_last.
// A failure on any rank throws on every rank (with the failing rank's reason on that rank), removes
// the temporary directory, and leaves every existing checkpoint untouched. A kill at any moment
// leaves either no step-N or a step-N without COMPLETE, which checkpoint_find_latest skips.
#pragma once
#include <filesystem>
#include <iostream>
#include <optional>

#include "core/optimizer.h"
#include "core/param.h"
#include "dist/communicator.h"
#include "io/checkpoint_dir.h"
#include "io/checkpoint_manifest.h"
#include "io/checkpoint_shard.h"

namespace ckf {

// The groups a rank saves: its Params and, with an optimizer, its moments (state.optimizer_step
// should then be opt->step_count()).
std::vector<TensorGroup> checkpoint_groups(const ParamRefs& params, AdamW* opt);

// Collective over `world`. Saves step state.step; an existing step-N directory of the same step
// is replaced. Returns the final directory.
std::filesystem::path checkpoint_save(Communicator& world, const std::filesystem::path& dir, int keep_last,
                                      const CheckpointMeta& meta, const ParamRefs& params, AdamW* opt,
                                      const TrainState& state);

struct FoundCheckpoint {
  std::filesystem::path path;  // DIR/step-N
  Manifest manifest;
};

// Checks one step directory: COMPLETE present, every listed file's size and CRC32, the manifest
// readable and naming files that COMPLETE covers. Throws with the reason; a newer format version
// throws CheckpointVersionError.
Manifest checkpoint_validate(const std::filesystem::path& step_dir);

// The newest step-N under `dir` that validates; each one skipped is reported on `log` with its
// directory and reason. nullopt when none (or no dir). A checkpoint from a newer format version is
// not skipped: it throws, since resuming from an older one would silently lose training.
// Reads every byte of the candidate (CRC32): call on one rank and broadcast the step.
std::optional<FoundCheckpoint> checkpoint_find_latest(const std::filesystem::path& dir, std::ostream& log = std::cerr);

// What a user's --ckpt names: a step directory as is (validated), or a checkpoint directory's
// newest intact step; the error names the path when there is none.
FoundCheckpoint checkpoint_pick(const std::filesystem::path& path);

// Throws unless the manifest's base model has the hash of `expected` (skipped when expected.hash
// is empty).
void checkpoint_check_model(const FoundCheckpoint& ck, const ModelIdentity& expected);

// Fills this rank's Params (and the optimizer's moments and step count) from the checkpoint by
// global offsets, whatever TP/DP layout it was saved with: a tensor is rebuilt from any shards
// that cover this rank's slice (replicated params from any replica, task adapters from a replica
// that held the task). The TrainState (RNG, cursor, extras) comes from the file of `state_rank`
// (this rank when the world size is unchanged; otherwise the trainer decides, e.g. 0, and should
// re-derive per-rank RNG streams). Checks the model identity first. Throws naming the tensor when
// the checkpoint lacks one of this rank's Params or their global shapes differ.
void checkpoint_load(const FoundCheckpoint& ck, const ModelIdentity& expected_model, const ParamRefs& params,
                     AdamW* opt, TrainState* state, int state_rank);

}  // namespace ckf
