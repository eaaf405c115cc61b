#include "io/checkpoint_shard.h"

#include "core/check.h"
#include "io/h5.h"

namespace ckf {

static void check_name(const std::string& what, const std::string& name) {
  CKF_CHECK(!name.empty() && name.find('/') == std::string::npos && name != "." && name != "..",
            "checkpoint: " << what << " name '" << name << "' must be non-empty and contain no '/'");
}

void shard_write(const std::filesystem::path& path, int rank, int world, const std::vector<TensorGroup>& groups,
                 const TrainState& state) {
  H5File f = H5File::create(path);
  // Integers are one-element int64 lists, as format_version 1 files have always had them.
  f.set_attr("magic", std::string(kCheckpointMagic));
  f.set_attr("kind", std::string("shard"));
  f.set_attr("format_version", std::vector<int64_t>{kCheckpointFormatVersion});
  f.set_attr("step", std::vector<int64_t>{state.step});
  f.set_attr("rank", std::vector<int64_t>{rank});
  f.set_attr("world", std::vector<int64_t>{world});
  f.set_attr("optimizer_step", std::vector<int64_t>{state.optimizer_step});
  f.set_attr("curriculum_position", std::vector<int64_t>{state.curriculum_position});
  for (const TensorGroup& g : groups) {
    for (const Param* p : g.tensors) {
      check_name("tensor", p->name);
      CKF_CHECK(p->value.dtype() == DType::f32 && p->value.device() == Device::cpu,
                "checkpoint: tensor '" << p->name << "' must be f32 on the cpu, is " << p->value.describe());
      const std::string ds = g.name + "/" + p->name;
      CKF_CHECK(!f.has(ds), "checkpoint: tensor '" << p->name << "' appears twice in group " << g.name);
      f.write(ds, std::span<const float>(p->value.data<float>(), size_t(p->value.numel())), p->value.shape(),
              H5Layout::contiguous);
      f.set_attr("global_shape", p->global_shape, ds);
      f.set_attr("split_dim", std::vector<int64_t>{p->split_dim}, ds);
      f.set_attr("split_offset", std::vector<int64_t>{p->split_offset}, ds);
    }
  }
  for (const auto& [name, bytes] : state.rng) {
    check_name("rng", name);
    f.write("rng/" + name, bytes, {}, H5Layout::contiguous);
  }
  f.write("data_cursor", state.data_cursor, {}, H5Layout::contiguous);
  for (const auto& [name, v] : state.extra_int) {
    check_name("extra", name);
    f.write("extra_int/" + name, std::vector<int64_t>{v}, {}, H5Layout::contiguous);
  }
  for (const auto& [name, v] : state.extra_double) {
    check_name("extra", name);
    f.write("extra_double/" + name, std::vector<double>{v}, {}, H5Layout::contiguous);
  }
  for (const auto& [name, v] : state.extra_string) {
    check_name("extra", name);
    f.write("extra_string/" + name, std::vector<uint8_t>(v.begin(), v.end()), {}, H5Layout::contiguous);
  }
  f.close();
}

static H5File open_shard(const std::filesystem::path& path) {
  H5File f = H5File::open(path);
  CKF_CHECK(f.attr_string("magic") == kCheckpointMagic && f.attr_string("kind") == "shard",
            path << ": not a ckf checkpoint shard file");
  return f;
}

TrainState shard_read_state(const std::filesystem::path& path) {
  H5File f = open_shard(path);
  TrainState s;
  s.step = f.attr_int("step");
  s.optimizer_step = f.attr_int("optimizer_step");
  s.curriculum_position = f.attr_int("curriculum_position");
  for (const std::string& n : f.list("rng")) s.rng[n] = f.read<uint8_t>("rng/" + n);
  s.data_cursor = f.read<int64_t>("data_cursor");
  for (const std::string& n : f.list("extra_int")) {
    auto v = f.read<int64_t>("extra_int/" + n);
    CKF_CHECK(v.size() == 1, path << ": extra_int/" << n << " must hold one value");
    s.extra_int[n] = v[0];
  }
  for (const std::string& n : f.list("extra_double")) {
    auto v = f.read<double>("extra_double/" + n);
    CKF_CHECK(v.size() == 1, path << ": extra_double/" << n << " must hold one value");
    s.extra_double[n] = v[0];
  }
  for (const std::string& n : f.list("extra_string")) {
    auto v = f.read<uint8_t>("extra_string/" + n);
    s.extra_string[n] = std::string(v.begin(), v.end());
  }
  return s;
}

void shard_collect_refs(const std::filesystem::path& path, int rank, std::vector<TensorEntry>& tensors) {
  H5File f = open_shard(path);
  for (const char* group : kTensorGroups) {
    for (const std::string& name : f.list(group)) {
      const std::string ds = std::string(group) + "/" + name;
      Shape global = f.attr_ints("global_shape", ds);
      ShardRef ref{rank, static_cast<int>(f.attr_int("split_dim", ds)), f.attr_int("split_offset", ds), f.shape(ds)};
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
