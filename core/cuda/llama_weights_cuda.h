// The frozen base weights of a LLaMA decoder on the device, bf16, uploaded once from the fp32 CPU
// weights (core/llama_weights.h, same Hugging Face layout). Tensor parallelism is not supported
// on the device path yet: the weights must be the whole model (tp = 1).
#pragma once
#include <vector>

#include "core/cuda/device_copy.h"
#include "core/llama_config.h"
#include "core/llama_weights.h"

namespace ckf::cuda {

struct LlamaLayerWeightsCuda {
  DeviceBuffer<Bf16> attn_norm;  // (C)
  DeviceBuffer<Bf16> wq;         // (H*D, C)
  DeviceBuffer<Bf16> wk;         // (KVH*D, C)
  DeviceBuffer<Bf16> wv;         // (KVH*D, C)
  DeviceBuffer<Bf16> wo;         // (C, H*D)
  DeviceBuffer<Bf16> mlp_norm;   // (C)
  DeviceBuffer<Bf16> w_gate;     // (F, C)
  DeviceBuffer<Bf16> w_up;       // (F, C)
  DeviceBuffer<Bf16> w_down;     // (C, F)
};

struct LlamaWeightsCuda {
  DeviceBuffer<Bf16> embedding;               // (V, C)
  std::vector<LlamaLayerWeightsCuda> layers;  // (L)
  DeviceBuffer<Bf16> norm;                    // (C)
  DeviceBuffer<Bf16> lm_head_own;             // (V, C); empty when tied to the embedding
  const Bf16* lm_head() const { return lm_head_own.size() ? lm_head_own.data() : embedding.data(); }
};

// Checks every shape against cfg (naming the tensor) and uploads; a tied lm_head is stored once.
LlamaWeightsCuda llama_weights_cuda_upload(const LlamaConfig& cfg, const LlamaWeights& w);

}  // namespace ckf::cuda
