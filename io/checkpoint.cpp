#include "io/checkpoint.h"

#include <map>

#include "core/check.h"
#include "io/atomic_file.h"
#include "io/checkpoint_reshard.h"
#include "io/h5.h"

namespace ckf {

namespace fs = std::filesystem;

std::vector<TensorGroup> checkpoint_groups(const ParamRefs& params, AdamW* opt) {
  std::vector<TensorGroup> groups{{kTensorGroups[0], params}};
  if (opt) {
    TensorGroup m{kTensorGroups[1], {}}, v{kTensorGroups[2], {}};
    for (Param& p : opt->moments_m()) m.tensors.push_back(&p);
    for (Param& p : opt->moments_v()) v.tensors.push_back(&p);
    groups.push_back(std::move(m));
    groups.push_back(std::move(v));
  }
  return groups;
}

// Runs `part` (which may throw) and makes every rank agree on the outcome: throws on every rank
// when any failed, with this rank's own message where it failed.
template <class Fn> static void agree(Communicator& world, const char* phase, Fn part) {
  std::string error;
  try {
    part();
  } catch (const std::exception& e) {
    error = e.what();
  }
  int64_t failed = error.empty() ? 0 : 1;
  world.all_reduce(std::span<int64_t>(&failed, 1), ReduceOp::max);
  if (!error.empty()) throw Error("checkpoint " + std::string(phase) + " failed: " + error);
  CKF_CHECK(failed == 0, "checkpoint " << phase << " failed on another rank (see its error)");
}

fs::path checkpoint_save(Communicator& world, const fs::path& dir, int keep_last, const CheckpointMeta& meta,
                         const ParamRefs& params, AdamW* opt, const TrainState& state) {
  const fs::path tmp = dir / checkpoint_tmp_name(state.step);
  const fs::path final_dir = dir / checkpoint_dir_name(state.step);
  const bool root = world.rank() == 0;
  auto remove_tmp = [&] {
    std::error_code ignored;
    if (root) fs::remove_all(tmp, ignored);
  };
  agree(world, "setup", [&] {
    if (!root) return;
    fs::create_directories(dir);
    fs::remove_all(tmp);
    CKF_CHECK(fs::create_directory(tmp), "cannot create " << tmp);
  });
  try {
    agree(world, "shard write", [&] {
      const fs::path file = tmp / shard_file_name(world.rank());
      shard_write(file, world.rank(), world.size(), checkpoint_groups(params, opt), state);
      fsync_path(file);
    });
    agree(world, "commit", [&] {
      if (!root) return;
      Manifest m;
      m.step = state.step;
      m.world = world.size();
      m.meta = meta;
      m.config_hash = config_hash_of(meta.config_text);
      for (int r = 0; r < world.size(); r++) {
        m.files.push_back(shard_file_name(r));
        shard_collect_refs(tmp / m.files.back(), r, m.tensors);
      }
      manifest_write(tmp / "manifest.h5", m);
      fsync_path(tmp / "manifest.h5");
      fsync_path(tmp);
      // A leftover of the same step (incomplete, or a re-save) gives way; older steps stay.
      fs::remove_all(final_dir);
      fs::rename(tmp, final_dir);
      fsync_path(dir);
      std::vector<std::string> files{"manifest.h5"};
      files.insert(files.end(), m.files.begin(), m.files.end());
      complete_write(final_dir, files);
    });
  } catch (...) {
    remove_tmp();
    throw;
  }
  agree(world, "retention", [&] {
    if (root) checkpoint_prune(dir, keep_last);
  });
  return final_dir;
}

Manifest checkpoint_validate(const fs::path& step_dir) {
  const std::vector<std::string> listed = complete_verify(step_dir);
  Manifest m = manifest_read(step_dir / "manifest.h5");
  CKF_CHECK(checkpoint_dir_name(m.step) == step_dir.filename().string(),
            "manifest step " << m.step << " does not match the directory name");
  for (const std::string& f : m.files)
    CKF_CHECK(std::find(listed.begin(), listed.end(), f) != listed.end(),
              "shard file " << f << " is not covered by " << kCompleteMarker);
  return m;
}

std::optional<FoundCheckpoint> checkpoint_find_latest(const fs::path& dir, std::ostream& log) {
  std::vector<CheckpointDirEntry> entries = checkpoint_dir_scan(dir);
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->tmp) continue;
    try {
      return FoundCheckpoint{it->path, checkpoint_validate(it->path)};
    } catch (const CheckpointVersionError&) {
      throw;
    } catch (const std::exception& e) {
      log << "checkpoint: skipping " << it->path.string() << ": " << e.what() << "\n";
    }
  }
  return std::nullopt;
}

void checkpoint_check_model(const FoundCheckpoint& ck, const ModelIdentity& expected) {
  if (expected.hash.empty()) return;
  const ModelIdentity& saved = ck.manifest.meta.model;
  CKF_CHECK(saved.hash == expected.hash && saved.size == expected.size,
            "checkpoint " << ck.path.string() << " was trained on base model " << saved.path << " (" << saved.size
                          << " bytes, " << saved.hash << ") but this run uses " << expected.path << " ("
                          << expected.size << " bytes, " << expected.hash << ")");
}

void checkpoint_load(const FoundCheckpoint& ck, const ModelIdentity& expected_model, const ParamRefs& params,
                     AdamW* opt, TrainState* state, int state_rank) {
  checkpoint_check_model(ck, expected_model);
  const Manifest& m = ck.manifest;
  std::map<int, H5File> files;  // opened on first use, by rank
  for (const TensorGroup& g : checkpoint_groups(params, opt)) {
    for (Param* p : g.tensors) {
      const TensorEntry* entry = manifest_find(m, g.name, p->name);
      CKF_CHECK(entry, "checkpoint " << ck.path.string() << " has no tensor '" << p->name << "' in group " << g.name);
      reshard_fill(*p, *entry, [&](const ShardRef& ref) {
        auto it = files.find(ref.rank);
        if (it == files.end()) it = files.emplace(ref.rank, H5File::open(ck.path / m.files[ref.rank])).first;
        CKF_CHECK(it->second.shape(g.name + "/" + p->name) == ref.shape,
                  it->second.path() << ": shape of '" << g.name << "/" << p->name << "' differs from the manifest");
        return it->second.read<float>(g.name + "/" + p->name, static_cast<int>(ref.shape.size()));
      });
    }
  }
  CKF_CHECK(state_rank >= 0 && state_rank < m.world,
            "checkpoint_load: state rank " << state_rank << " outside the saved world of " << m.world);
  TrainState s = shard_read_state(ck.path / m.files[state_rank]);
  if (opt) opt->set_step_count(s.optimizer_step);
  if (state) *state = std::move(s);
}

FoundCheckpoint checkpoint_pick(const std::filesystem::path& path) {
  if (std::filesystem::exists(path / "manifest.h5")) return {path, checkpoint_validate(path)};
  std::optional<FoundCheckpoint> found = checkpoint_find_latest(path);
  CKF_CHECK(found, "--ckpt " << path << ": no intact checkpoint");
  return *found;
}

}  // namespace ckf
