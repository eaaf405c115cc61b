// Small HDF5 (C API) wrapper for files ckf writes itself: typed datasets and attributes addressed
// by path ("param/lora.k.A"), intermediate groups created on demand. HDF5's own error printing is
// off; every failure throws ckf::Error naming the file and the object.
#pragma once
#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ckf {

class H5Store {
 public:
  static H5Store create(const std::filesystem::path& path);  // truncates an existing file
  static H5Store open_read(const std::filesystem::path& path);
  H5Store(H5Store&& o) noexcept : id_(o.id_), path_(std::move(o.path_)) { o.id_ = -1; }
  H5Store& operator=(H5Store&&) = delete;
  ~H5Store();
  // Closes now and reports failure (the destructor cannot); later calls are errors.
  void close();
  const std::filesystem::path& path() const { return path_; }

  // Datasets. An empty shape is a scalar; empty vectors are stored with a null dataspace.
  void write_f32(const std::string& name, const float* data, const Shape& shape);
  void write_bytes(const std::string& name, const std::vector<uint8_t>& v);
  void write_i64(const std::string& name, const std::vector<int64_t>& v);
  void write_f64(const std::string& name, const std::vector<double>& v);
  Shape shape_of(const std::string& name) const;
  void read_f32(const std::string& name, float* out, int64_t n) const;  // n must equal the element count
  std::vector<uint8_t> read_bytes(const std::string& name) const;
  std::vector<int64_t> read_i64(const std::string& name) const;
  std::vector<double> read_f64(const std::string& name) const;

  // Attributes on an object ("" or "/" is the root).
  void set_attr(const std::string& obj, const std::string& attr, const std::string& value);
  void set_attr(const std::string& obj, const std::string& attr, int64_t value);
  void set_attr(const std::string& obj, const std::string& attr, const std::vector<int64_t>& value);
  std::string attr_str(const std::string& obj, const std::string& attr) const;
  int64_t attr_i64(const std::string& obj, const std::string& attr) const;
  std::vector<int64_t> attr_i64s(const std::string& obj, const std::string& attr) const;

  bool exists(const std::string& name) const;
  // Member names of a group, sorted; empty when the group does not exist.
  std::vector<std::string> list(const std::string& group) const;

 private:
  H5Store(hid_t id, std::filesystem::path path) : id_(id), path_(std::move(path)) {}
  void write_raw(const std::string& name, hid_t type, const void* data, const Shape& shape);
  std::vector<char> read_raw(const std::string& name, hid_t type, size_t elem, int64_t* count) const;

  hid_t id_ = -1;
  std::filesystem::path path_;
};

}  // namespace ckf
