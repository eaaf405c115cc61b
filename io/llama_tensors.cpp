#include "io/llama_tensors.h"

#include "core/check.h"
#include "core/llama_weights.h"

namespace ckf {

void llama_check_tensors(const LlamaConfig& c, const std::map<std::string, Shape>& found, const std::string& source) {
  std::map<std::string, Shape> want = llama_weight_shapes(c);
  for (const auto& [name, shape] : found) {
    auto it = want.find(name);
    CKF_CHECK(it != want.end(), source << ": tensor '" << name << "' is not a weight of this LLaMA config ("
                                       << c.n_layers << " layers, tied embeddings " << c.tie_embeddings << ")");
    CKF_CHECK(shape == it->second, source << ": tensor '" << name << "' has shape " << shape_str(shape)
                                          << ", the config implies " << shape_str(it->second));
  }
  for (const auto& [name, shape] : want)
    CKF_CHECK(found.count(name), source << ": tensor '" << name << "' is missing");
}

}  // namespace ckf
