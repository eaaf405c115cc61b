// A trainable parameter: its value, its gradient (same shape) and a stable name that the
// optimizer, gradient sync, checkpoints and PEFT export all key on.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"

namespace ckf {

struct Param {
  std::string name;  // e.g. "mapper.user_proj.w1", "lora.shared.layers.3.k.A"
  Tensor value;      // f32
  Tensor grad;       // f32, same shape; accumulated by backward, zeroed by the optimizer step

  static Param make(std::string name, const Shape& shape) {
    return Param{std::move(name), Tensor::zeros(shape), Tensor::zeros(shape)};
  }
};

// Non-owning list of the parameters a module exposes, in a fixed order.
using ParamRefs = std::vector<Param*>;

}  // namespace ckf
