// Device memory owned by one object: cudaMalloc on construction, cudaFree on destruction.
// resize() keeps the allocation when it is large enough: cudaFree synchronises the whole device,
// so per-step buffers whose shape changes from batch to batch would stall every step, and a free
// inside a step with NCCL collectives queued would wait for the peers (dist/grad_sync_cuda.h).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <utility>
#include <vector>

#include "kernels/cuda/check.h"

namespace ckf::cuda {

template <class T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  explicit DeviceBuffer(size_t n) : n_(n), capacity_(n) {
    if (n_ > 0) CUDA_CHECK(cudaMalloc(&ptr_, n_ * sizeof(T)));
  }
  // A device copy of `host` (synchronous).
  explicit DeviceBuffer(const std::vector<T>& host) : DeviceBuffer(host.size()) { upload(host); }
  ~DeviceBuffer() {
    if (ptr_) cudaFree(ptr_);  // no CUDA_CHECK: a destructor must not throw
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  DeviceBuffer(DeviceBuffer&& o) noexcept
      : ptr_(std::exchange(o.ptr_, nullptr)), n_(std::exchange(o.n_, 0)), capacity_(std::exchange(o.capacity_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& o) noexcept {
    std::swap(ptr_, o.ptr_);
    std::swap(n_, o.n_);
    std::swap(capacity_, o.capacity_);
    return *this;
  }

  // Holds n elements from now on (contents undefined); reallocates only to grow.
  void resize(size_t n) {
    if (n > capacity_) *this = DeviceBuffer(n);
    n_ = n;
  }

  T* data() { return ptr_; }
  const T* data() const { return ptr_; }
  size_t size() const { return n_; }
  size_t bytes() const { return n_ * sizeof(T); }

  void upload(const std::vector<T>& host) {
    CKF_CHECK(host.size() == n_, "DeviceBuffer::upload: " << host.size() << " elements into a buffer of " << n_);
    if (n_ == 0) return;
    CUDA_CHECK(cudaMemcpy(ptr_, host.data(), bytes(), cudaMemcpyHostToDevice));
    // From pageable memory cudaMemcpy may return before the DMA lands, and kernels on a
    // non-blocking stream are not ordered after the default stream's copy: wait for it.
    CUDA_CHECK(cudaDeviceSynchronize());
  }
  std::vector<T> download() const {
    std::vector<T> host(n_);
    // The default stream's copy does not wait for non-blocking streams: finish their work first.
    CUDA_CHECK(cudaDeviceSynchronize());
    if (n_ > 0) CUDA_CHECK(cudaMemcpy(host.data(), ptr_, bytes(), cudaMemcpyDeviceToHost));
    return host;
  }

 private:
  T* ptr_ = nullptr;
  size_t n_ = 0;         // elements in use
  size_t capacity_ = 0;  // elements allocated
};

}  // namespace ckf::cuda
