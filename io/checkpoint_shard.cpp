#include "io/checkpoint_shard.h"

#include "core/check.h"
#include "io/h5_file.h"

namespace ckf {

static void check_name(const std::string& what, const std::string& name) {
  CKF_CHECK(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
            "checkpoint: " << what << " name '" << name << "' must be non-empty and contain no '/'");
}

void shard_write(const std::filesystem::path& path, int rank, int world, const std::vector<TensorGroup>& groups,
                 const TrainState& state) {
  H5Store f = H5Store::create(path);
  f.set_attr("", "magic", std::string(kCheckpointMagic));
  f.set_attr("", "kind", std::string("shard"));
  f.set_attr("", "format_version", kCheckpointFormatVersion);
  f.set_attr("", "step", state.step);
  f.set_attr("", "rank", int64_t{rank});
  f.set_attr("", "world", int64_t{world});
  f.set_attr("", "optimizer_step", state.optimizer_step);
  f.set_attr("", "curriculum_position", state.curriculum_position);
  for (const TensorGroup& g : groups) {
    for (const Param* p : g.tensors) {
      check_name("tensor", p->name);
      CKF_CHECK(p->value.dtype() == DType::f32 && p->value.device() == Device::cpu,
                "checkpoint: tensor '" << p->name << "' must be f32 on the cpu, is " << p->value.describe());
      const std::string ds = g.name + "/" + p->name;
      CKF_CHECK(!f.exists(ds), "checkpoint: tensor '" << p->name << "' appears twice in group " << g.name);
      f.write_f32(ds, p->value.data<float>(), p->value.shape());
      f.set_attr(ds, "global_shape", p->global_shape);
      f.set_attr(ds, "split_dim", int64_t{p->split_dim});
      f.set_attr(ds, "split_offset", p->split_offset);
    }
  }
  for (const auto& [name, bytes] : state.rng) {
    check_name("rng", name);
    f.write_bytes("rng/" + name, bytes);
  }
  f.write_i64("data_cursor", state.data_cursor);
  for (const auto& [name, v] : state.extra_int) {
    check_name("extra", name);
    f.write_i64("extra_int/" + name, {v});
  }
  for (const auto& [name, v] : state.extra_double) {
    check_name("extra", name);
    f.write_f64("extra_double/" + name, {v});
  }
  for (const auto& [name, v] : state.extra_string) {
    check_name("extra", name);
    f.write_bytes("extra_string/" + name, std::vector<uint8_t>(v.begin(), v.end()));
  }
  f.close();
}

static H5Store open_shard(const std::filesystem::path& path) {
  H5Store f = H5Store::open_read(path);
  CKF_CHECK(f.attr_str("", "magic") == kCheckpointMagic && f.attr_str("", "kind") == "shard",
            path << ": not a ckf checkpoint shard file");
  return f;
}

TrainState shard_read_state(const std::filesystem::path& path) {
  H5Store f = open_shard(path);
  TrainState s;
  s.step = f.attr_i64("", "step");
  s.optimizer_step = f.attr_i64("", "optimizer_step");
  s.curriculum_position = f.attr_i64("", "curriculum_position");
  for (const std::string& n : f.list("rng")) s.rng[n] = f.read_bytes("rng/" + n);
  s.data_cursor = f.read_i64("data_cursor");
  for (const std::string& n : f.list("extra_int")) {
    auto v = f.read_i64("extra_int/" + n);
    CKF_CHECK(v.size() == 1, path << ": extra_int/" << n << " must hold one value");
    s.extra_int[n] = v[0];
  }
  for (const std::string& n : f.list("extra_double")) {
    auto v = f.read_f64("extra_double/" + n);
    CKF_CHECK(v.size() == 1, path << ": extra_double/" << n << " must hold one value");
    s.extra_double[n] = v[0];
  }
  for (const std::string& n : f.list("extra_string")) {
    auto v = f.read_bytes("extra_string/" + n);
    s.extra_string[n] = std::string(v.begin(), v.end());
  }
  return s;
}

void shard_collect_refs(const std::filesystem::path& path, int rank, std::vector<TensorEntry>& tensors) {
  H5Store f = open_shard(path);
  for (const char* group : kTensorGroups) {
    for (const std::string& name : f.list(group)) {
      const std::string ds = std::string(group) + "/" + name;
      Shape global = f.attr_i64s(ds, "global_shape");
      ShardRef ref{rank, static_cast<int>(f.attr_i64(ds, "split_dim")), f.attr_i64(ds, "split_offset"), f.shape_of(ds)};
      TensorEntry* entry = nullptr;
      for (TensorEntry& t : tensors)
        if (t.group == group && t.name == name) entry = &t;
      if (!entry) entry = &tensors.emplace_back(TensorEntry{group, name, global, {}});
      CKF_CHECK(entry->global_shape == global, path << ": '" << ds << "' has global shape " << shape_str(global)
                                                    << " but another rank saved " << shape_str(entry->global_shape));
      entry->shards.push_back(std::move(ref));
    }
  }
}

}  // namespace ckf
