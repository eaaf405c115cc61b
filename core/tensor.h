// Tensor: dtype, shape, device, and storage that is either owned (64-byte aligned, freed with the
// last reference) or borrowed (a view over memory someone else owns: a mapped file, a slice of
// another tensor). Row-major and contiguous; a view of a tensor is a contiguous sub-range.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

namespace ckf {

enum class DType : uint8_t { f32, bf16, f16, i32, i64 };
enum class Device : uint8_t { cpu, cuda };

size_t dtype_size(DType dt);
const char* dtype_name(DType dt);
const char* device_name(Device dev);

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& shape);
std::string shape_str(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  // Owning, zero-initialised.
  static Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  static Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = Device::cpu);
  // Non-owning view over external memory; the caller keeps `data` alive longer than the view.
  static Tensor borrow(void* data, const Shape& shape, DType dtype, Device device = Device::cpu);

  // Rows [begin, end) of the first dimension, sharing storage.
  Tensor slice_rows(int64_t begin, int64_t end) const;
  // Same storage, new shape of equal element count.
  Tensor reshape(const Shape& shape) const;
  // Deep copy into owned storage, converting dtype (f32 <-> bf16/f16, i32 <-> i64) on the CPU.
  Tensor to(DType dtype) const;
  Tensor clone() const { return to(dtype_); }

  bool defined() const { return data_ != nullptr || numel() == 0; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  const Shape& shape() const { return shape_; }
  int64_t dim(int i) const;
  int ndim() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const { return shape_numel(shape_); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool owns_storage() const { return static_cast<bool>(storage_); }

  void* raw() const { return data_; }
  // Typed access; checks that T matches the dtype (uint16_t for bf16/f16).
  template <class T> T* data() const;

  std::string describe() const;  // "f32[2, 3] cpu"

 private:
  std::shared_ptr<void> storage_;  // null for borrowed tensors
  void* data_ = nullptr;
  Shape shape_;
  DType dtype_ = DType::f32;
  Device device_ = Device::cpu;
};

}  // namespace ckf
