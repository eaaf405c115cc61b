// Thin HDF5 (C API) layer for ckf's own files: RAII handles, chunked + deflate-compressed numeric
// datasets, ragged UTF-8 strings as (bytes, offsets) pairs, and the root attributes `ckf_schema` and
// `schema_version` that every ckf file carries. All errors name the file and dataset; the HDF5
// library's own error printing is switched off.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace ckf {

class H5File {
 public:
  static H5File create(const std::filesystem::path& path);  // truncates
  // Opens read-only and checks `ckf_schema` == schema and schema_version <= max_version.
  static H5File open(const std::filesystem::path& path, const std::string& schema, int64_t max_version);
  ~H5File();
  H5File(H5File&& o) noexcept : id_(o.id_), path_(std::move(o.path_)) { o.id_ = -1; }
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;

  hid_t id() const { return id_; }
  const std::filesystem::path& path() const { return path_; }
  void close();  // flushes; errors throw (the destructor swallows them)

  bool has(const std::string& name) const;  // dataset or group exists
  // Dimensions of a dataset; errors name the file and dataset.
  std::vector<int64_t> shape(const std::string& name) const;

  // Numeric datasets: T in {int8_t, uint8_t, int32_t, int64_t, float}. `dims` multiply to data size.
  // Parent groups are created as needed. Chunked along dim 0 and deflate-compressed.
  template <class T>
  void write(const std::string& name, const std::vector<T>& data, std::vector<int64_t> dims = {});
  // Reads a whole dataset, checking the element type and, when given, the rank.
  template <class T>
  std::vector<T> read(const std::string& name, int rank = 1) const;

  // Ragged strings: "<name>/bytes" (uint8, concatenated UTF-8) and "<name>/offsets" (int64, n+1).
  void write_strings(const std::string& name, const std::vector<std::string>& strings);
  std::vector<std::string> read_strings(const std::string& name) const;

  void set_attr(const std::string& key, int64_t value);
  void set_attr(const std::string& key, const std::string& value);
  int64_t attr_int(const std::string& key) const;
  std::string attr_string(const std::string& key) const;

 private:
  H5File(hid_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}
  hid_t id_ = -1;
  std::filesystem::path path_;
};

}  // namespace ckf
