// One trainable tensor as the device step holds it, for whoever updates or synchronises it (the
// device optimizer, the gradient sync): its fp32 master value and gradient on the device, the bf16
// copy the GEMMs read where there is one, and the host Param value it mirrors, so the trainer can
// pair device tensors with its host parameters (TrainParams.params) by pointer.
#pragma once
#include <cstdint>

#include "core/cuda/device_copy.h"

namespace ckf::cuda {

struct DeviceTensor {
  const float* host_value;  // (n) the host Param's value.data<float>() this tensor mirrors
  float* value;             // (n) fp32 master value on the device
  float* grad;              // (n) fp32 gradient on the device
  Bf16* value_bf16;         // (n) bf16 copy the GEMMs read (LoRA), nullptr when they read fp32 (mapper)
  int64_t n;                // element count
};

}  // namespace ckf::cuda
