#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <string_view>

#include "core/check.h"
#include "core/half.h"
#include "io/json.h"

namespace ckf {
namespace {

size_t dtype_bytes(const std::string& dtype) {
  static const std::pair<const char*, size_t> sizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto& [name, size] : sizes)
    if (dtype == name) return size;
  return 0;
}

// A u64 header value from JSON: a non-negative integer.
uint64_t json_u64(const Json& j, const std::string& path, const std::string& field) {
  CKF_CHECK(j.is_integer() && j.as_int64() >= 0, path << ": " << field << " must be a non-negative integer");
  return static_cast<uint64_t>(j.as_int64());
}

SafetensorsTensor parse_entry(const std::string& name, const Json& v, const std::string& path, uint64_t data_size) {
  std::string field = "tensor '" + name + "'";
  CKF_CHECK(v.is_object(), path << ": " << field << ": header entry is not an object");
  SafetensorsTensor t;
  t.name = name;
  const Json* dtype = v.find("dtype");
  CKF_CHECK(dtype && dtype->is_string(), path << ": " << field << ": missing string 'dtype'");
  t.dtype = dtype->as_string();
  t.elem_size = dtype_bytes(t.dtype);
  CKF_CHECK(t.elem_size > 0, path << ": " << field << ": unknown dtype '" << t.dtype << "'");
  const Json* shape = v.find("shape");
  CKF_CHECK(shape && shape->is_array(), path << ": " << field << ": missing array 'shape'");
  uint64_t numel = 1;
  for (const Json& d : shape->as_array()) {
    uint64_t n = json_u64(d, path, field + " shape");
    // Bounded by the data size, so numel * elem_size cannot overflow below.
    CKF_CHECK(n == 0 || numel <= data_size / n, path << ": " << field << ": shape is larger than the file");
    numel *= n;
    t.shape.push_back(static_cast<int64_t>(n));
  }
  const Json* offsets = v.find("data_offsets");
  CKF_CHECK(offsets && offsets->is_array() && offsets->as_array().size() == 2,
            path << ": " << field << ": 'data_offsets' must be an array [begin, end]");
  t.begin = json_u64(offsets->as_array()[0], path, field + " data_offsets[0]");
  t.end = json_u64(offsets->as_array()[1], path, field + " data_offsets[1]");
  CKF_CHECK(t.begin <= t.end && t.end <= data_size,
            path << ": " << field << ": data_offsets [" << t.begin << ", " << t.end << ") outside the data section of "
                 << data_size << " bytes");
  CKF_CHECK(numel * t.elem_size == t.end - t.begin, path << ": " << field << ": shape " << shape_str(t.shape) << " of "
                                                         << t.dtype << " needs " << numel * t.elem_size << " bytes but data_offsets span "
                                                         << t.end - t.begin);
  return t;
}

}  // namespace

SafetensorsFile::SafetensorsFile(const std::string& path) : file_(std::make_shared<MappedFile>(path)) {
  uint64_t size = file_->size();
  CKF_CHECK(size >= 8, path << ": header length: file of " << size << " bytes is too short for safetensors");
  uint64_t n;
  std::memcpy(&n, file_->data(), 8);
  CKF_CHECK(n <= size - 8, path << ": header length " << n << " past end of file (size " << size << ")");
  data_start_ = 8 + n;
  uint64_t data_size = size - data_start_;
  Json header;
  try {
    header = json_parse(std::string_view(reinterpret_cast<const char*>(file_->data() + 8), n));
  } catch (const Error& e) {
    CKF_FAIL(path << ": header: " << e.what());
  }
  CKF_CHECK(header.is_object(), path << ": header: not a JSON object");
  for (const auto& [name, v] : header.as_object()) {
    if (name == "__metadata__") {
      CKF_CHECK(v.is_object(), path << ": __metadata__ is not an object");
      for (const auto& [k, s] : v.as_object()) {
        CKF_CHECK(s.is_string(), path << ": __metadata__ '" << k << "' is not a string");
        metadata_[k] = s.as_string();
      }
      continue;
    }
    index_[name] = tensors_.size();
    tensors_.push_back(parse_entry(name, v, path, data_size));
  }
  std::vector<const SafetensorsTensor*> by_begin;
  for (const SafetensorsTensor& t : tensors_) by_begin.push_back(&t);
  std::sort(by_begin.begin(), by_begin.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by_begin.size(); ++i)
    CKF_CHECK(by_begin[i]->begin >= by_begin[i - 1]->end || by_begin[i]->begin == by_begin[i]->end,
              path << ": tensor '" << by_begin[i]->name << "': data_offsets overlap tensor '" << by_begin[i - 1]->name << "'");
}

const SafetensorsTensor* SafetensorsFile::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &tensors_[it->second];
}

const SafetensorsTensor& SafetensorsFile::tensor(const std::string& name) const {
  const SafetensorsTensor* t = find(name);
  CKF_CHECK(t != nullptr, path() << ": no tensor named '" << name << "'");
  return *t;
}

void SafetensorsFile::convert(const SafetensorsTensor& t, int64_t first, int64_t n, float* dst) const {
  const uint8_t* src = file_->data() + data_start_ + t.begin + static_cast<uint64_t>(first) * t.elem_size;
  if (t.dtype == "F32") {
    std::memcpy(dst, src, static_cast<size_t>(n) * 4);
    return;
  }
  CKF_CHECK(t.dtype == "F16" || t.dtype == "BF16",
            path() << ": tensor '" << t.name << "': dtype " << t.dtype << " cannot be loaded as f32 weights");
  bool f16 = t.dtype == "F16";
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = f16 ? f16_to_f32(h) : bf16_to_f32(h);
  }
}

Tensor SafetensorsFile::load(const std::string& name) const {
  const SafetensorsTensor& t = tensor(name);
  Tensor out = Tensor::empty(t.shape);
  convert(t, 0, out.numel(), out.data<float>());
  return out;
}

Tensor SafetensorsFile::load_rows(const std::string& name, int64_t begin, int64_t end) const {
  const SafetensorsTensor& t = tensor(name);
  CKF_CHECK(!t.shape.empty() && 0 <= begin && begin <= end && end <= t.shape[0],
            path() << ": tensor '" << name << "': rows [" << begin << ", " << end << ") out of range for shape " << shape_str(t.shape));
  Shape shape = t.shape;
  shape[0] = end - begin;
  Tensor out = Tensor::empty(shape);
  int64_t row = t.shape[0] > 0 ? shape_numel(t.shape) / t.shape[0] : 0;
  convert(t, begin * row, out.numel(), out.data<float>());
  return out;
}

Tensor SafetensorsFile::load_cols(const std::string& name, int64_t begin, int64_t end) const {
  const SafetensorsTensor& t = tensor(name);
  CKF_CHECK(t.shape.size() == 2 && 0 <= begin && begin <= end && end <= t.shape[1],
            path() << ": tensor '" << name << "': columns [" << begin << ", " << end << ") out of range for shape " << shape_str(t.shape));
  Tensor out = Tensor::empty({t.shape[0], end - begin});
  for (int64_t r = 0; r < t.shape[0]; ++r) convert(t, r * t.shape[1] + begin, end - begin, out.data<float>() + r * (end - begin));
  return out;
}

}  // namespace ckf
