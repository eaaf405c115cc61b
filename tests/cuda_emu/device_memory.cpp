// Device memory of the CUDA emulator: aligned host memory, filled with 0xFF bytes on cudaMalloc
// (NaN as fp32 and bf16) so that reading memory nobody wrote poisons results as garbage would on a
// GPU. Allocations are tracked: copies and memsets must stay inside one, cudaFree of an unknown
// pointer is an error, and cudaMemGetInfo reports the bytes in use out of a fixed total.
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "tests/cuda_emu/runtime_state.h"

namespace ckf_emu {

namespace {

constexpr size_t kAlign = 256;  // cudaMalloc's alignment

struct Allocations {
  std::mutex mu;
  std::map<const char*, size_t> device;  // start -> bytes
  std::map<const void*, size_t> pinned;  // cudaMallocHost start -> bytes
  size_t device_bytes = 0;
};
Allocations& allocations() {
  static Allocations a;
  return a;
}

// Whether [p, p + bytes) lies inside one device allocation.
bool in_device_memory(const void* p, size_t bytes) {
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  const char* c = static_cast<const char*>(p);
  auto it = a.device.upper_bound(c);
  if (it == a.device.begin()) return false;
  --it;
  return c >= it->first && c + bytes <= it->first + it->second;
}

}  // namespace

}  // namespace ckf_emu

using namespace ckf_emu;

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return record_error(cudaErrorInvalidValue);
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  if (bytes > kTotalMemory - a.device_bytes) return record_error(cudaErrorMemoryAllocation);
  const size_t rounded = (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign;
  char* p = static_cast<char*>(std::aligned_alloc(kAlign, rounded));
  if (!p) return record_error(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, rounded);
  a.device[p] = bytes;
  a.device_bytes += bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  auto it = a.device.find(static_cast<const char*>(ptr));
  if (it == a.device.end()) return record_error(cudaErrorInvalidDevicePointer);
  a.device_bytes -= it->second;
  a.device.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return record_error(cudaErrorInvalidValue);
  void* p = std::aligned_alloc(kAlign, (std::max<size_t>(bytes, 1) + kAlign - 1) / kAlign * kAlign);
  if (!p) return record_error(cudaErrorMemoryAllocation);
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  a.pinned[p] = bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  if (!a.pinned.erase(ptr)) return record_error(cudaErrorInvalidValue);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (!free_bytes || !total_bytes) return record_error(cudaErrorInvalidValue);
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mu);
  *total_bytes = kTotalMemory;
  *free_bytes = kTotalMemory - a.device_bytes;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return record_error(cudaErrorInvalidValue);
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  if ((dst_device && !in_device_memory(dst, bytes)) || (src_device && !in_device_memory(src, bytes)))
    return record_error(cudaErrorInvalidValue);
  std::memmove(dst, src, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind, cudaStream_t stream) {
  if (check_launch(dim3(1), dim3(1), 0, 0, stream) != cudaSuccess) return record_error(cudaErrorInvalidResourceHandle);
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!in_device_memory(dst, bytes)) return record_error(cudaErrorInvalidValue);
  std::memset(dst, value, bytes);
  return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  if (check_launch(dim3(1), dim3(1), 0, 0, stream) != cudaSuccess) return record_error(cudaErrorInvalidResourceHandle);
  return cudaMemset(dst, value, bytes);
}
