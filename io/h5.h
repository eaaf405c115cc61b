// The one HDF5 (C API) layer for the files ckf writes and reads itself: catalog and task shards,
// CF embeddings, checkpoint shards and manifests. An RAII file handle; typed datasets and
// attributes addressed by path ("param/lora.k.A"; parent groups are created on demand); ragged
// UTF-8 strings as (bytes, offsets) pairs; the root attributes `ckf_schema` and `schema_version`
// of the dataset and embeddings files. Every failure throws ckf::Error naming the file, the
// dataset or attribute and the HDF5 call; the library's own error printing is switched off.
// Files are opened with HDF5's default access properties (its default file locking included);
// atomic replacement is the caller's (io/atomic_file.h: write to the temporary path it gives).
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace ckf {

// How a dataset's values are stored.
enum class H5Layout {
  chunked,     // ~1 MiB chunks of whole rows, shuffle + deflate(4): dataset files, read row range by row range
  contiguous,  // uncompressed, in one piece: checkpoints and embeddings, written on the clock and read whole
};

class H5File {
 public:
  static H5File create(const std::filesystem::path& path);  // truncates an existing file
  // Also writes the root attributes ckf_schema = schema and schema_version = version.
  static H5File create(const std::filesystem::path& path, const std::string& schema, int64_t version);
  static H5File open(const std::filesystem::path& path);    // read-only
  // Read-only, and checks `ckf_schema` == schema and 1 <= schema_version <= max_version.
  static H5File open(const std::filesystem::path& path, const std::string& schema, int64_t max_version);
  ~H5File();
  H5File(H5File&& o) noexcept : id_(o.id_), path_(std::move(o.path_)) { o.id_ = -1; }
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  const std::filesystem::path& path() const { return path_; }
  void close();  // flushes; errors throw (the destructor swallows them)

  bool has(const std::string& name) const;  // dataset or group exists
  // Member names of a group, sorted; empty when the group does not exist.
  std::vector<std::string> list(const std::string& group) const;
  // Dimensions of a dataset ({} for a scalar). A null dataspace (how earlier checkpoints stored
  // empty vectors) is an empty vector, {0}.
  std::vector<int64_t> shape(const std::string& name) const;

  // Numeric datasets: T in {int8_t, uint8_t, int32_t, int64_t, float, double}; `dims` multiply to
  // data.size() ({} is a scalar).
  template <class T>
  void write(const std::string& name, std::span<const T> data, const std::vector<int64_t>& dims, H5Layout layout);
  // dims {} here means one dimension of data.size().
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, std::vector<int64_t> dims = {},
             H5Layout layout = H5Layout::chunked) {
    if (dims.empty()) dims = {int64_t(data.size())};
    write(name, std::span<const T>(data), dims, layout);
  }
  // Reads a whole dataset, checking the element type (no silent conversions) and the rank.
  template <class T>
  std::vector<T> read(const std::string& name, int rank = 1) const;

  // Ragged strings: "<name>/bytes" (uint8, concatenated UTF-8) and "<name>/offsets" (int64, n+1).
  void write_strings(const std::string& name, const std::vector<std::string>& strings);
  std::vector<std::string> read_strings(const std::string& name) const;

  // Attributes of `obj`, a group or dataset ("/": the root). Strings are stored fixed-length
  // UTF-8, integers as int64: a scalar, or one dimension for a list. attr_int also reads a
  // one-element list (checkpoints store their integers so), attr_string also a variable-length
  // string (as h5py writes them) and the ASCII strings of earlier ckf builds.
  void set_attr(const std::string& key, const std::string& value, const std::string& obj = "/");
  void set_attr(const std::string& key, int64_t value, const std::string& obj = "/");
  void set_attr(const std::string& key, const std::vector<int64_t>& values, const std::string& obj = "/");
  std::string attr_string(const std::string& key, const std::string& obj = "/") const;
  int64_t attr_int(const std::string& key, const std::string& obj = "/") const;
  std::vector<int64_t> attr_ints(const std::string& key, const std::string& obj = "/") const;

 private:
  H5File(hid_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}
  hid_t attr_open(const std::string& key, const std::string& obj) const;
  hid_t id_ = -1;
  std::filesystem::path path_;
};

}  // namespace ckf
