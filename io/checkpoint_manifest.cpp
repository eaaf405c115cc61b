#include "io/checkpoint_manifest.h"

#include <cstdio>
#include <sstream>

#include "core/check.h"
#include "io/h5.h"

namespace ckf {

std::string shard_file_name(int rank) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "rank-%05d.h5", rank);
  return buf;
}

std::string config_hash_of(const std::string& config_text) {
  return "fnv1a64:" + hex64(fnv1a64(config_text.data(), config_text.size()));
}

static std::string join_lines(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

void manifest_write(const std::filesystem::path& path, const Manifest& m) {
  H5File f = H5File::create(path);
  // Integers are one-element int64 lists, as format_version 1 files have always had them.
  f.set_attr("magic", std::string(kCheckpointMagic));
  f.set_attr("kind", std::string("manifest"));
  f.set_attr("format_version", std::vector<int64_t>{m.format_version});
  f.set_attr("step", std::vector<int64_t>{m.step});
  f.set_attr("world", std::vector<int64_t>{m.world});
  f.set_attr("tp", std::vector<int64_t>{m.meta.tp});
  f.set_attr("dp", std::vector<int64_t>{m.meta.dp});
  f.set_attr("placement", m.meta.placement);
  f.set_attr("config_text", m.meta.config_text);
  f.set_attr("config_hash", m.config_hash);
  f.set_attr("model_path", m.meta.model.path);
  f.set_attr("model_size", std::vector<int64_t>{m.meta.model.size});
  f.set_attr("model_hash", m.meta.model.hash);
  f.set_attr("files", join_lines(m.files));
  for (const TensorEntry& t : m.tensors) {
    std::vector<int64_t> rows;
    for (const ShardRef& s : t.shards) {
      CKF_CHECK(s.shape.size() == t.global_shape.size(), "manifest: shard of '" << t.name << "' has rank "
                                                                                << s.shape.size() << " != global");
      rows.insert(rows.end(), {s.rank, s.split_dim, s.split_offset});
      rows.insert(rows.end(), s.shape.begin(), s.shape.end());
    }
    const std::string ds = "tensors/" + t.group + "/" + t.name;
    f.write(ds, rows, {}, H5Layout::contiguous);
    f.set_attr("global_shape", t.global_shape, ds);
  }
  f.close();
}

Manifest manifest_read(const std::filesystem::path& path) {
  H5File f = H5File::open(path);
  const std::string magic = f.attr_string("magic"), kind = f.attr_string("kind");
  CKF_CHECK(magic == kCheckpointMagic && kind == "manifest",
            path << ": not a ckf checkpoint manifest (magic '" << magic << "', kind '" << kind << "')");
  Manifest m;
  m.format_version = f.attr_int("format_version");
  if (m.format_version > kCheckpointFormatVersion) {
    std::ostringstream os;
    os << path.string() << ": checkpoint format_version " << m.format_version << " is newer than this build reads ("
       << kCheckpointFormatVersion << "); resume with a newer ckf";
    throw CheckpointVersionError(os.str());
  }
  CKF_CHECK(m.format_version >= 1, path << ": bad format_version " << m.format_version);
  m.step = f.attr_int("step");
  m.world = static_cast<int>(f.attr_int("world"));
  m.meta.tp = static_cast<int>(f.attr_int("tp"));
  m.meta.dp = static_cast<int>(f.attr_int("dp"));
  m.meta.placement = f.attr_string("placement");
  m.meta.config_text = f.attr_string("config_text");
  m.config_hash = f.attr_string("config_hash");
  m.meta.model.path = f.attr_string("model_path");
  m.meta.model.size = f.attr_int("model_size");
  m.meta.model.hash = f.attr_string("model_hash");
  std::istringstream files(f.attr_string("files"));
  for (std::string line; std::getline(files, line);) m.files.push_back(line);
  CKF_CHECK(static_cast<int>(m.files.size()) == m.world,
            path << ": lists " << m.files.size() << " shard files for world " << m.world);
  for (const std::string& group : f.list("tensors")) {
    for (const std::string& name : f.list("tensors/" + group)) {
      const std::string ds = "tensors/" + group + "/" + name;
      TensorEntry t{group, name, f.attr_ints("global_shape", ds), {}};
      const std::vector<int64_t> rows = f.read<int64_t>(ds);
      const size_t width = 3 + t.global_shape.size();
      CKF_CHECK(rows.size() % width == 0, path << ": '" << ds << "' has a partial shard row");
      for (size_t r = 0; r < rows.size(); r += width) {
        ShardRef s{static_cast<int>(rows[r]), static_cast<int>(rows[r + 1]), rows[r + 2],
                   Shape(rows.begin() + static_cast<long>(r + 3), rows.begin() + static_cast<long>(r + width))};
        CKF_CHECK(s.rank >= 0 && s.rank < m.world, path << ": '" << ds << "' names rank " << s.rank
                                                        << " outside world " << m.world);
        t.shards.push_back(std::move(s));
      }
      m.tensors.push_back(std::move(t));
    }
  }
  return m;
}

const TensorEntry* manifest_find(const Manifest& m, const std::string& group, const std::string& name) {
  for (const TensorEntry& t : m.tensors)
    if (t.group == group && t.name == name) return &t;
  return nullptr;
}

}  // namespace ckf
