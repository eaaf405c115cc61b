// Checks a weight file's tensor table against a LLaMA config before anything is loaded, so a
// mismatched file fails naming the file and the tensor rather than deep inside model setup.
#pragma once
#include <map>
#include <string>

#include "core/llama_config.h"
#include "core/tensor.h"

namespace ckf {

// Checks that `found` (HF name -> shape, from `source`) holds exactly the weights of
// llama_weight_shapes(c), each with its shape; errors name the source and the tensor.
void llama_check_tensors(const LlamaConfig& c, const std::map<std::string, Shape>& found, const std::string& source);

}  // namespace ckf
