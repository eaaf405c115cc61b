#include "core/cuda/device_copy.h"

#include "core/check.h"
#include "core/half.h"
#include "kernels/cuda/check.h"

namespace ckf::cuda {

void bf16_upload(Bf16* dst, const float* src, size_t n) {
  std::vector<uint16_t> bits(n);
  for (size_t i = 0; i < n; ++i) bits[i] = f32_to_bf16(src[i]);
  if (n == 0) return;
  CUDA_CHECK(cudaMemcpy(dst, bits.data(), n * sizeof(uint16_t), cudaMemcpyHostToDevice));
  CUDA_CHECK(cudaDeviceSynchronize());  // the DMA has landed before any stream reads it (kernels/cuda/buffer.h)
}

DeviceBuffer<Bf16> bf16_upload(const Tensor& t) {
  CKF_CHECK(t.dtype() == DType::f32 && t.device() == Device::cpu,
            "bf16_upload: expected an f32 cpu tensor, got " << t.describe());
  DeviceBuffer<Bf16> buf(static_cast<size_t>(t.numel()));
  bf16_upload(buf.data(), t.data<const float>(), buf.size());
  return buf;
}

std::vector<float> bf16_download(const Bf16* src, size_t n) {
  std::vector<uint16_t> bits(n);
  CUDA_CHECK(cudaDeviceSynchronize());  // the default stream's copy does not wait for non-blocking streams
  if (n > 0) CUDA_CHECK(cudaMemcpy(bits.data(), src, n * sizeof(uint16_t), cudaMemcpyDeviceToHost));
  std::vector<float> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = bf16_to_f32(bits[i]);
  return out;
}

}  // namespace ckf::cuda
