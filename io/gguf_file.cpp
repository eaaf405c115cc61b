#include "io/gguf_file.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "core/check.h"

namespace ckf {
namespace {

constexpr int kMaxArrayDepth = 16;  // nested arrays deeper than this are treated as corrupt
constexpr uint32_t kMaxDims = 4;    // GGML_MAX_DIMS

// Sequential reader over the mapped bytes; every read is bounds-checked and failures name the
// field being read and its byte position.
struct Cursor {
  const std::string& path;
  const uint8_t* data;
  uint64_t size;
  uint64_t pos = 0;

  uint64_t remaining() const { return size - pos; }

  void need(uint64_t n, const std::string& field) const {
    CKF_CHECK(n <= remaining(), path << ": " << field << ": needs " << n << " bytes at offset " << pos
                                     << " but the file ends at " << size << " (truncated?)");
  }
  template <class T> T read(const std::string& field) {
    need(sizeof(T), field);
    T v;
    std::memcpy(&v, data + pos, sizeof(T));
    pos += sizeof(T);
    return v;
  }
  std::string read_string(const std::string& field) {
    uint64_t len = read<uint64_t>(field + " length");
    need(len, field + " (string of " + std::to_string(len) + " bytes)");
    std::string s(reinterpret_cast<const char*>(data + pos), len);
    pos += len;
    return s;
  }
};

// Smallest encoded size of one value of `kind`: bounds an array's count by the bytes left.
uint64_t min_encoded_size(GgufValue::Kind kind) {
  using K = GgufValue::Kind;
  switch (kind) {
    case K::u8: case K::i8: case K::boolean: return 1;
    case K::u16: case K::i16: return 2;
    case K::u32: case K::i32: case K::f32: return 4;
    case K::u64: case K::i64: case K::f64: case K::string: return 8;
    case K::array: return 12;
  }
  return 1;
}

GgufValue::Kind read_kind(Cursor& c, const std::string& field) {
  uint32_t k = c.read<uint32_t>(field + " type");
  CKF_CHECK(k <= static_cast<uint32_t>(GgufValue::Kind::f64),
            c.path << ": " << field << ": unknown metadata value type " << k);
  return static_cast<GgufValue::Kind>(k);
}

GgufValue read_value(Cursor& c, GgufValue::Kind kind, const std::string& field, int depth) {
  using K = GgufValue::Kind;
  GgufValue v;
  v.kind = kind;
  switch (kind) {
    case K::u8: v.u = c.read<uint8_t>(field); break;
    case K::i8: v.i = c.read<int8_t>(field); break;
    case K::u16: v.u = c.read<uint16_t>(field); break;
    case K::i16: v.i = c.read<int16_t>(field); break;
    case K::u32: v.u = c.read<uint32_t>(field); break;
    case K::i32: v.i = c.read<int32_t>(field); break;
    case K::u64: v.u = c.read<uint64_t>(field); break;
    case K::i64: v.i = c.read<int64_t>(field); break;
    case K::f32: v.f = c.read<float>(field); break;
    case K::f64: v.f = c.read<double>(field); break;
    case K::boolean: {
      uint8_t b = c.read<uint8_t>(field);
      CKF_CHECK(b <= 1, c.path << ": " << field << ": bool value " << int(b) << " is neither 0 nor 1");
      v.u = b;
      break;
    }
    case K::string: v.str = c.read_string(field); break;
    case K::array: {
      CKF_CHECK(depth < kMaxArrayDepth, c.path << ": " << field << ": arrays nested deeper than " << kMaxArrayDepth);
      v.elem_kind = read_kind(c, field + " element");
      uint64_t count = c.read<uint64_t>(field + " count");
      uint64_t min_size = min_encoded_size(v.elem_kind);
      CKF_CHECK(count <= c.remaining() / min_size,
                c.path << ": " << field << ": array count " << count << " of " << gguf_kind_name(v.elem_kind)
                       << " cannot fit in the " << c.remaining() << " bytes left in the file");
      v.elems.reserve(count);
      for (uint64_t j = 0; j < count; ++j)
        v.elems.push_back(read_value(c, v.elem_kind, field + "[" + std::to_string(j) + "]", depth + 1));
      break;
    }
  }
  return v;
}

}  // namespace

const char* gguf_kind_name(GgufValue::Kind kind) {
  static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
  auto k = static_cast<uint32_t>(kind);
  return k < 13 ? names[k] : "?";
}

int64_t GgufTensorInfo::n_rows() const {
  int64_t n = 1;
  for (size_t d = 1; d < ne.size(); ++d) n *= ne[d];
  return n;
}

Shape GgufTensorInfo::shape() const { return Shape(ne.rbegin(), ne.rend()); }

GgufFile::GgufFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  Cursor c{path, file_->data(), file_->size()};
  c.need(4, "magic");
  CKF_CHECK(std::memcmp(c.data, "GGUF", 4) == 0, path << ": magic: not a GGUF file (first bytes are not \"GGUF\")");
  c.pos = 4;
  version_ = c.read<uint32_t>("version");
  CKF_CHECK(version_ == 2 || version_ == 3, path << ": version: GGUF version " << version_ << " is not supported (2 or 3)");
  uint64_t n_tensors = c.read<uint64_t>("tensor_count");
  uint64_t n_kv = c.read<uint64_t>("kv_count");
  // A kv is at least a key length, a type and a 1-byte value; a tensor info at least 8+4+8+4+8.
  CKF_CHECK(n_kv <= c.remaining() / 13, path << ": kv_count " << n_kv << " cannot fit in a file of " << c.size << " bytes");
  CKF_CHECK(n_tensors <= c.remaining() / 32,
            path << ": tensor_count " << n_tensors << " cannot fit in a file of " << c.size << " bytes");

  for (uint64_t k = 0; k < n_kv; ++k) {
    std::string field = "metadata key #" + std::to_string(k);
    std::string key = c.read_string(field);
    field = "metadata '" + key + "'";
    GgufValue::Kind kind = read_kind(c, field);
    GgufValue value = read_value(c, kind, field, 0);
    CKF_CHECK(metadata_.emplace(key, std::move(value)).second, path << ": " << field << ": duplicate key");
  }
  if (const GgufValue* a = find("general.alignment")) {
    CKF_CHECK(a->kind == GgufValue::Kind::u32 && a->u > 0 && (a->u & (a->u - 1)) == 0,
              path << ": general.alignment must be a u32 power of two, got " << gguf_kind_name(a->kind) << " " << a->u);
    alignment_ = a->u;
  }

  tensors_.reserve(n_tensors);
  for (uint64_t k = 0; k < n_tensors; ++k) {
    GgufTensorInfo t;
    t.name = c.read_string("tensor #" + std::to_string(k) + " name");
    std::string field = "tensor '" + t.name + "'";
    uint32_t n_dims = c.read<uint32_t>(field + " n_dims");
    CKF_CHECK(n_dims >= 1 && n_dims <= kMaxDims, path << ": " << field << ": n_dims " << n_dims << " not in [1, " << kMaxDims << "]");
    int64_t numel = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = c.read<uint64_t>(field + " ne[" + std::to_string(d) + "]");
      CKF_CHECK(ne >= 1 && ne <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max() / numel),
                path << ": " << field << ": dimension ne[" << d << "] = " << ne << " is zero or overflows the element count");
      numel *= static_cast<int64_t>(ne);
      t.ne.push_back(static_cast<int64_t>(ne));
    }
    uint32_t type = c.read<uint32_t>(field + " type");
    const GgmlTypeInfo* info = ggml_type_info(type);
    CKF_CHECK(info != nullptr, path << ": " << field << ": ggml type " << type << " (" << ggml_type_name(type)
                                       << ") is not supported (F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q6_K are)");
    t.type = static_cast<GgmlType>(type);
    CKF_CHECK(t.ne[0] % info->block_size == 0, path << ": " << field << ": row length ne[0] = " << t.ne[0]
                                                    << " is not a multiple of the " << info->name << " block size " << info->block_size);
    t.offset = c.read<uint64_t>(field + " offset");
    CKF_CHECK(t.offset % alignment_ == 0, path << ": " << field << ": data offset " << t.offset
                                                << " is not a multiple of the alignment " << alignment_);
    // Bound the block count by the file size before multiplying, so the byte size cannot overflow.
    uint64_t n_blocks = static_cast<uint64_t>(numel / info->block_size);
    CKF_CHECK(n_blocks <= c.size / info->block_bytes, path << ": " << field << ": " << numel << " elements of "
                                                           << info->name << " are larger than the file (" << c.size << " bytes)");
    t.nbytes = n_blocks * info->block_bytes;
    CKF_CHECK(tensor_index_.emplace(t.name, tensors_.size()).second, path << ": " << field << ": duplicate tensor name");
    tensors_.push_back(std::move(t));
  }

  data_start_ = (c.pos + alignment_ - 1) / alignment_ * alignment_;
  uint64_t data_size = data_start_ <= c.size ? c.size - data_start_ : 0;
  for (const GgufTensorInfo& t : tensors_) {
    CKF_CHECK(t.offset <= data_size && t.nbytes <= data_size - t.offset,
              path << ": tensor '" << t.name << "': data offset " << t.offset << " + size " << t.nbytes
                   << " past end of file (data section starts at " << data_start_ << ", file size " << c.size << ")");
  }
}

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

static const GgufValue& require(const GgufFile& f, const std::string& key) {
  const GgufValue* v = f.find(key);
  CKF_CHECK(v != nullptr, f.path() << ": metadata key '" << key << "' is missing");
  return *v;
}

int64_t GgufFile::get_int(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  using K = GgufValue::Kind;
  switch (v.kind) {
    case K::u8: case K::u16: case K::u32: case K::u64:
      CKF_CHECK(v.u <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()), path() << ": metadata '" << key << "': " << v.u << " too large");
      return static_cast<int64_t>(v.u);
    case K::i8: case K::i16: case K::i32: case K::i64: return v.i;
    default: CKF_FAIL(path() << ": metadata '" << key << "': expected an integer, found " << gguf_kind_name(v.kind));
  }
}

double GgufFile::get_float(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  CKF_CHECK(v.kind == GgufValue::Kind::f32 || v.kind == GgufValue::Kind::f64,
            path() << ": metadata '" << key << "': expected a float, found " << gguf_kind_name(v.kind));
  return v.f;
}

const std::string& GgufFile::get_string(const std::string& key) const {
  const GgufValue& v = require(*this, key);
  CKF_CHECK(v.kind == GgufValue::Kind::string, path() << ": metadata '" << key << "': expected a string, found " << gguf_kind_name(v.kind));
  return v.str;
}

const GgufTensorInfo* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensorInfo& GgufFile::tensor(const std::string& name) const {
  const GgufTensorInfo* t = find_tensor(name);
  CKF_CHECK(t != nullptr, path() << ": no tensor named '" << name << "'");
  return *t;
}

void GgufFile::read_row(const GgufTensorInfo& t, int64_t row, int64_t begin, int64_t end, float* dst) const {
  const GgmlTypeInfo* info = ggml_type_info(static_cast<uint32_t>(t.type));
  int64_t bs = info->block_size;
  int64_t first = begin / bs, last = (end + bs - 1) / bs;  // covering blocks [first, last)
  const uint8_t* row_bytes = file_->data() + data_start_ + t.offset +
                             static_cast<uint64_t>(row) * static_cast<uint64_t>(t.ne[0] / bs) * info->block_bytes;
  if (begin == first * bs && end == last * bs) {
    ggml_dequantize(t.type, row_bytes + first * info->block_bytes, dst, last - first);
    return;
  }
  std::vector<float> tmp(static_cast<size_t>((last - first) * bs));
  ggml_dequantize(t.type, row_bytes + first * info->block_bytes, tmp.data(), last - first);
  std::copy(tmp.begin() + (begin - first * bs), tmp.begin() + (end - first * bs), dst);
}

Tensor GgufFile::load(const std::string& name) const {
  const GgufTensorInfo& t = tensor(name);
  return load_rows(name, 0, t.n_rows()).reshape(t.shape());
}

Tensor GgufFile::load_rows(const std::string& name, int64_t begin, int64_t end) const {
  const GgufTensorInfo& t = tensor(name);
  CKF_CHECK(0 <= begin && begin <= end && end <= t.n_rows(),
            path() << ": tensor '" << name << "': rows [" << begin << ", " << end << ") out of range [0, " << t.n_rows() << ")");
  Tensor out = Tensor::empty({end - begin, t.ne[0]});
  float* y = out.data<float>();
  for (int64_t r = begin; r < end; ++r) read_row(t, r, 0, t.ne[0], y + (r - begin) * t.ne[0]);
  return out;
}

Tensor GgufFile::load_cols(const std::string& name, int64_t begin, int64_t end) const {
  const GgufTensorInfo& t = tensor(name);
  CKF_CHECK(0 <= begin && begin <= end && end <= t.ne[0],
            path() << ": tensor '" << name << "': columns [" << begin << ", " << end << ") out of range [0, " << t.ne[0] << ")");
  Tensor out = Tensor::empty({t.n_rows(), end - begin});
  float* y = out.data<float>();
  for (int64_t r = 0; r < t.n_rows(); ++r) read_row(t, r, begin, end, y + r * (end - begin));
  return out;
}

}  // namespace ckf
