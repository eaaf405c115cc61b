#include "core/tensor.h"

#include <cstdlib>
#include <cstring>
#include <sstream>

#include "core/check.h"
#include "core/half.h"

namespace ckf {

size_t dtype_size(DType dt) {
  switch (dt) {
    case DType::f32: case DType::i32: return 4;
    case DType::bf16: case DType::f16: return 2;
    case DType::i64: return 8;
  }
  CKF_FAIL("unknown dtype " << static_cast<int>(dt));
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::f32: return "f32";
    case DType::bf16: return "bf16";
    case DType::f16: return "f16";
    case DType::i32: return "i32";
    case DType::i64: return "i64";
  }
  return "?";
}

const char* device_name(Device dev) { return dev == Device::cpu ? "cpu" : "cuda"; }

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    CKF_CHECK(d >= 0, "negative dimension in shape " << shape_str(shape));
    n *= d;
  }
  return n;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

Tensor Tensor::empty(const Shape& shape, DType dtype, Device device) {
  CKF_CHECK(device == Device::cpu, "Tensor::empty: device memory is allocated by the CUDA backend");
  Tensor t;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  // Round up to the alignment; allocate at least one line so that data_ is never null.
  size_t bytes = (t.nbytes() + 63) / 64 * 64;
  if (bytes == 0) bytes = 64;
  void* p = std::aligned_alloc(64, bytes);
  CKF_CHECK(p != nullptr, "out of host memory allocating " << bytes << " bytes for " << t.describe());
  std::memset(p, 0, bytes);
  t.storage_ = std::shared_ptr<void>(p, std::free);
  t.data_ = p;
  return t;
}

Tensor Tensor::zeros(const Shape& shape, DType dtype, Device device) { return empty(shape, dtype, device); }

Tensor Tensor::borrow(void* data, const Shape& shape, DType dtype, Device device) {
  Tensor t;
  t.data_ = data;
  t.shape_ = shape;
  t.dtype_ = dtype;
  t.device_ = device;
  return t;
}

int64_t Tensor::dim(int i) const {
  CKF_CHECK(i >= 0 && i < ndim(), "dimension " << i << " out of range for " << describe());
  return shape_[i];
}

Tensor Tensor::slice_rows(int64_t begin, int64_t end) const {
  CKF_CHECK(ndim() >= 1 && begin >= 0 && begin <= end && end <= shape_[0],
            "slice_rows [" << begin << ", " << end << ") out of range for " << describe());
  Tensor t = *this;
  int64_t row = numel() / (shape_[0] ? shape_[0] : 1);
  t.shape_[0] = end - begin;
  t.data_ = static_cast<char*>(data_) + begin * row * static_cast<int64_t>(dtype_size(dtype_));
  return t;
}

Tensor Tensor::reshape(const Shape& shape) const {
  CKF_CHECK(shape_numel(shape) == numel(), "reshape " << describe() << " to " << shape_str(shape));
  Tensor t = *this;
  t.shape_ = shape;
  return t;
}

Tensor Tensor::to(DType dtype) const {
  CKF_CHECK(device_ == Device::cpu, "Tensor::to on " << describe() << ": host tensors only");
  Tensor out = empty(shape_, dtype);
  const int64_t n = numel();
  if (dtype == dtype_) {
    std::memcpy(out.data_, data_, nbytes());
    return out;
  }
  auto as_f32 = [&](int64_t i) -> float {
    switch (dtype_) {
      case DType::f32: return static_cast<const float*>(data_)[i];
      case DType::bf16: return bf16_to_f32(static_cast<const uint16_t*>(data_)[i]);
      case DType::f16: return f16_to_f32(static_cast<const uint16_t*>(data_)[i]);
      default: CKF_FAIL("Tensor::to: cannot convert " << dtype_name(dtype_) << " to " << dtype_name(dtype));
    }
  };
  if ((dtype_ == DType::i32 || dtype_ == DType::i64) && (dtype == DType::i32 || dtype == DType::i64)) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t v = dtype_ == DType::i32 ? static_cast<const int32_t*>(data_)[i] : static_cast<const int64_t*>(data_)[i];
      if (dtype == DType::i32) {
        CKF_CHECK(v >= INT32_MIN && v <= INT32_MAX, "Tensor::to i32: value " << v << " at " << i << " overflows");
        static_cast<int32_t*>(out.data_)[i] = static_cast<int32_t>(v);
      } else {
        static_cast<int64_t*>(out.data_)[i] = v;
      }
    }
    return out;
  }
  for (int64_t i = 0; i < n; ++i) {
    float v = as_f32(i);
    switch (dtype) {
      case DType::f32: static_cast<float*>(out.data_)[i] = v; break;
      case DType::bf16: static_cast<uint16_t*>(out.data_)[i] = f32_to_bf16(v); break;
      case DType::f16: static_cast<uint16_t*>(out.data_)[i] = f32_to_f16(v); break;
      default: CKF_FAIL("Tensor::to: cannot convert " << dtype_name(dtype_) << " to " << dtype_name(dtype));
    }
  }
  return out;
}

template <class T> T* Tensor::data() const {
  constexpr bool is_f32 = std::is_same_v<T, float> || std::is_same_v<T, const float>;
  constexpr bool is_u16 = std::is_same_v<T, uint16_t> || std::is_same_v<T, const uint16_t>;
  constexpr bool is_i32 = std::is_same_v<T, int32_t> || std::is_same_v<T, const int32_t>;
  constexpr bool is_i64 = std::is_same_v<T, int64_t> || std::is_same_v<T, const int64_t>;
  bool ok = (is_f32 && dtype_ == DType::f32) || (is_u16 && (dtype_ == DType::bf16 || dtype_ == DType::f16)) ||
            (is_i32 && dtype_ == DType::i32) || (is_i64 && dtype_ == DType::i64);
  CKF_CHECK(ok, "typed access does not match " << describe());
  return static_cast<T*>(data_);
}

template float* Tensor::data<float>() const;
template const float* Tensor::data<const float>() const;
template uint16_t* Tensor::data<uint16_t>() const;
template const uint16_t* Tensor::data<const uint16_t>() const;
template int32_t* Tensor::data<int32_t>() const;
template const int32_t* Tensor::data<const int32_t>() const;
template int64_t* Tensor::data<int64_t>() const;
template const int64_t* Tensor::data<const int64_t>() const;

std::string Tensor::describe() const {
  std::ostringstream os;
  os << dtype_name(dtype_) << shape_str(shape_) << " " << device_name(device_);
  return os.str();
}

}  // namespace ckf
