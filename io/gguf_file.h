// GGUF (versions 2 and 3) reader: header, typed metadata, tensor infos, and the tensor data section
// viewed through a memory map. Every count, length and offset is checked against the file size
// before anything is allocated or read, so a corrupt or hostile file fails with an error naming
// the file and the field instead of crashing or exhausting memory.
//
// File layout: "GGUF", u32 version, u64 tensor_count, u64 kv_count, kv_count x (string key, u32
// value type, value), tensor_count x (string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
// u64 offset), padding to general.alignment (default 32), data section. Strings are u64 length +
// bytes; arrays are u32 element type + u64 count + elements. ne[0] is the innermost dimension.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "io/gguf_dequant.h"
#include "io/mapped_file.h"

namespace ckf {

// A metadata value. Scalars hold their value in the member that fits their kind; arrays hold one
// GgufValue per element (all of kind `elem_kind`), arrays of arrays included.
struct GgufValue {
  enum class Kind : uint32_t { u8 = 0, i8 = 1, u16 = 2, i16 = 3, u32 = 4, i32 = 5, f32 = 6, boolean = 7,
                               string = 8, array = 9, u64 = 10, i64 = 11, f64 = 12 };
  Kind kind = Kind::u8;
  uint64_t u = 0;  // u8, u16, u32, u64, boolean (0 or 1)
  int64_t i = 0;   // i8, i16, i32, i64
  double f = 0;    // f32, f64
  std::string str;
  Kind elem_kind = Kind::u8;        // array only
  std::vector<GgufValue> elems;     // array only
};
const char* gguf_kind_name(GgufValue::Kind kind);

struct GgufTensorInfo {
  std::string name;
  std::vector<int64_t> ne;  // GGUF dims, ne[0] innermost
  GgmlType type = GgmlType::f32;
  uint64_t offset = 0;      // from the start of the data section
  uint64_t nbytes = 0;
  int64_t row_len() const { return ne[0]; }
  int64_t n_rows() const;   // product of ne[1..]
  Shape shape() const;      // row-major: ne reversed, e.g. (out, in) for a 2-D weight
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);

  const std::string& path() const { return file_->path(); }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;  // null when absent
  // Typed lookups; throw naming file and key when the key is absent or of another kind. Integer
  // getters accept any integer kind whose value fits.
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;  // f32 or f64
  const std::string& get_string(const std::string& key) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(const std::string& name) const;  // null when absent
  const GgufTensorInfo& tensor(const std::string& name) const;       // throws when absent

  // Dequantised to f32 in row-major shape (GgufTensorInfo::shape). Rows are index ranges over the
  // outermost dimensions flattened (n_rows), columns over ne[0].
  Tensor load(const std::string& name) const;
  Tensor load_rows(const std::string& name, int64_t begin, int64_t end) const;      // (end-begin, ne0)
  Tensor load_cols(const std::string& name, int64_t begin, int64_t end) const;      // (n_rows, end-begin)
  // Dequantises row `row`, columns [begin, end), into dst (end - begin floats), touching only the
  // blocks that cover those columns.
  void read_row(const GgufTensorInfo& t, int64_t row, int64_t begin, int64_t end, float* dst) const;

 private:
  std::shared_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_start_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensorInfo> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace ckf
