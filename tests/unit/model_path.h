// Where tests find the embedded SmolLM2-135M GGUF: $CKF_MODEL_GGUF, else the cache ($CKF_CACHE, $XDG_CACHE_HOME/ckf or ~/.cache/ckf) that
// cluster/setup-model.sh fills. Tests that need it GTEST_SKIP when the file is absent.
#pragma once
#include <cstdlib>
#include <string>

namespace ckf {

inline std::string test_model_gguf_path() {
  if (const char* env = std::getenv("CKF_MODEL_GGUF")) return env;
  std::string cache;
  if (const char* c = std::getenv("CKF_CACHE")) cache = c;
  else if (const char* x = std::getenv("XDG_CACHE_HOME")) cache = std::string(x) + "/ckf";
  else if (const char* home = std::getenv("HOME")) cache = std::string(home) + "/.cache/ckf";
  return cache + "/models/SmolLM2-135M-Instruct.Q4_1.gguf";
}

}  // namespace ckf
