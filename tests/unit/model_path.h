// Where tests find the embedded SmolLM2-135M GGUF: $CKF_MODEL_GGUF, else the cache that
// cluster/setup-model.sh fills. Tests that need it GTEST_SKIP when the file is absent.
#pragma once
#include <cstdlib>
#include <string>

namespace ckf {

inline std::string test_model_gguf_path() {
  if (const char* env = std::getenv("CKF_MODEL_GGUF")) return env;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "") + "/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

}  // namespace ckf
