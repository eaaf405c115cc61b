// Identity of the base model a checkpoint was trained on, cheap enough to compute at every start:
// the file size plus FNV-1a 64 over 16 sampled blocks of 64 KiB (evenly spaced, the first at offset
// 0 and the last ending at the end of the file; the whole file when smaller than 1 MiB). Catches a
// different model or a re-quantised file; it is not a cryptographic digest.
#pragma once
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>

#include "core/hash.h"

namespace ckf {

struct ModelIdentity {
  std::string path;   // as given at training time (informational)
  int64_t size = 0;   // bytes
  std::string hash;   // "fnv1a64-sampled:<16 hex digits>"; empty = unknown
};

ModelIdentity model_identity_of(const std::filesystem::path& model_file);


}  // namespace ckf
