// Reader for the safetensors format: u64 little-endian header length N, N bytes of JSON mapping
// each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// byte after the header) plus an optional "__metadata__" string map, then the data. The file is
// memory-mapped; the header is validated against the file size before any tensor is touched.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/mapped_file.h"

namespace ckf {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;   // as written: "F32", "BF16", ...
  size_t elem_size;    // bytes per element of dtype
  Shape shape;         // row-major
  uint64_t begin, end; // byte span within the data section
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // in header order
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const SafetensorsTensor* find(const std::string& name) const;  // null when absent
  const SafetensorsTensor& tensor(const std::string& name) const;

  // Converted to f32 (F32, F16 and BF16 only). Rows index the first dimension, columns the last
  // (2-D tensors only for columns).
  Tensor load(const std::string& name) const;
  Tensor load_rows(const std::string& name, int64_t begin, int64_t end) const;
  Tensor load_cols(const std::string& name, int64_t begin, int64_t end) const;

 private:
  // Converts n elements of t starting at element `first` to f32 into dst.
  void convert(const SafetensorsTensor& t, int64_t first, int64_t n, float* dst) const;

  std::shared_ptr<MappedFile> file_;
  uint64_t data_start_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace ckf
