// Host <-> device copies of the device decoder: fp32 tensors to bf16 or fp32 device buffers and
// back, and buffers sized on demand (activations are kept across steps and only reallocated when
// a batch needs more than any before). Synchronous copies: they run at upload time or once per step.
#pragma once
#include <cuda_bf16.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/tensor.h"
#include "kernels/cuda/buffer.h"

namespace ckf::cuda {

using Bf16 = __nv_bfloat16;

// b holds n elements (contents undefined); reallocated only to grow (kernels/cuda/buffer.h).
template <class T>
void device_ensure(DeviceBuffer<T>& b, size_t n) {
  b.resize(n);
}

// b = 0 on the stream (no-op when empty).
template <class T>
void device_zero(DeviceBuffer<T>& b, cudaStream_t stream) {
  if (b.size() > 0) CUDA_CHECK(cudaMemsetAsync(b.data(), 0, b.bytes(), stream));
}

// n fp32 values rounded to bf16 (nearest even) into dst (n) on the device.
void bf16_upload(Bf16* dst, const float* src, size_t n);

// A bf16 device copy of an fp32 CPU tensor.
DeviceBuffer<Bf16> bf16_upload(const Tensor& t);

// dst (n) on the host = the bf16 device values src (n), widened to fp32.
std::vector<float> bf16_download(const Bf16* src, size_t n);

}  // namespace ckf::cuda
