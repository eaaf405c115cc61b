// Multi-LoRA adapters on the device (core/multi_lora.h's sets, tp = 1): every adapter's A and B
// live in one flat fp32 buffer (the masters an optimizer updates), with a bf16 copy that the
// GEMMs read and a gradient buffer at the same offsets, so zeroing, downloading or updating all
// adapters is one operation over contiguous memory.
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/cuda/device_copy.h"
#include "core/cuda/device_tensor.h"
#include "core/multi_lora.h"

namespace ckf::cuda {

struct LoraAdapterCuda {
  int r = 0, in = 0, out = 0;
  float scale = 0.0f;    // alpha / r
  uint64_t stream = 0;   // the adapter's random stream (dropout masks)
  int64_t a_offset = 0;  // A (r, in) at this offset of params, params_bf16 and grads
  int64_t b_offset = 0;  // B (out, r)
};

using LoraSetCuda = std::vector<std::array<std::optional<LoraAdapterCuda>, kLoraTargets>>;  // (L)

struct MultiLoraCuda {
  LoraSpec shared_spec;
  LoraSpec task_spec;
  LoraSetCuda shared;
  std::map<std::string, LoraSetCuda> tasks;
  DeviceBuffer<float> params;      // (P) every A and B, fp32
  DeviceBuffer<Bf16> params_bf16;  // (P) bf16 copies for the forward and backward GEMMs
  DeviceBuffer<float> grads;       // (P) dA, dB
};

// Uploads A and B of every adapter (gradients start at zero). Throws on a tensor-parallel slice.
MultiLoraCuda multilora_cuda_upload(const MultiLora& lora);

// Throws naming the task and the tasks held when the instance lacks it.
const LoraSetCuda& multilora_cuda_task(const MultiLoraCuda& lora, const std::string& task);

void multilora_cuda_zero_grad(MultiLoraCuda& lora, cudaStream_t stream);

// Overwrites every host adapter's dA and dB with the device gradients, once `stream` (the one the
// backward ran on) is done. `host` must
// be the MultiLora the device one was uploaded from (same sets, layers and shapes).
void multilora_cuda_grads_download(const MultiLoraCuda& lora, MultiLora& host, cudaStream_t stream);

// The same for the fp32 values: the host adapters' A and B = the device masters (after an optimizer
// ran on the device).
void multilora_cuda_values_download(const MultiLoraCuda& lora, MultiLora& host, cudaStream_t stream);

// The device masters and their bf16 copies = the host adapters' A and B (after a resume). Synchronous.
void multilora_cuda_values_upload(MultiLoraCuda& lora, const MultiLora& host);

// Every A and B as a DeviceTensor (views into the flat buffers), paired with the host adapter
// tensor it mirrors; shared set first, then the tasks in name order, layers and targets ascending.
std::vector<DeviceTensor> multilora_cuda_tensors(MultiLoraCuda& lora, const MultiLora& host);

// Dropout on an adapter's input in training, with core/lora.h's masks (kernels/cuda/lora_dropout.h):
// drawn again in backward rather than stored.
struct LoraDropoutCuda {
  float p = 0.0f;           // 0: no dropout (evaluation, or a rate of 0)
  uint64_t seed = 0;        // the step's dropout seed
  int64_t row0 = 0;         // batch row of the first row (masks are keyed by it)
  Bf16* drop_x = nullptr;   // (rows, in) scratch: the dropped input
  Bf16* drop_dx = nullptr;  // (rows, in) scratch: its gradient
};

// out (rows, a.out) += scale * (dropout(x) (rows, a.in) A^T) B^T; h (rows, r) keeps dropout(x) A^T
// for backward.
void lora_cuda_forward(cublasHandle_t handle, cudaStream_t stream, const MultiLoraCuda& lora, const LoraAdapterCuda& a,
                       Bf16* out, Bf16* h, const Bf16* x, int rows, const LoraDropoutCuda& drop);

// dx (rows, a.in) += gradient through the adapter; dA, dB in lora.grads accumulate (+=).
// dh (rows, r) is scratch; dy (rows, a.out) the output gradient; x, h and drop as in the forward.
void lora_cuda_backward(cublasHandle_t handle, cudaStream_t stream, MultiLoraCuda& lora, const LoraAdapterCuda& a,
                        Bf16* dx, Bf16* dh, const Bf16* dy, const Bf16* x, const Bf16* h, int rows,
                        const LoraDropoutCuda& drop);

}  // namespace ckf::cuda
