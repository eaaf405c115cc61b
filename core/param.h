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
  // Under tensor parallelism a Param may hold a slice of a larger global tensor: indices
  // [split_offset, split_offset + shape[split_dim]) along split_dim of global_shape. Checkpoints
  // store global offsets so that a run can resume with a different TP size. Unsplit: split_dim = -1.
  Shape global_shape;
  int split_dim = -1;
  int64_t split_offset = 0;

  static Param make(std::string name, const Shape& shape) {
    return Param{std::move(name), Tensor::zeros(shape), Tensor::zeros(shape), shape, -1, 0};
  }
};

// Non-owning list of the parameters a module exposes, in a fixed order.
using ParamRefs = std::vector<Param*>;

}  // namespace ckf
