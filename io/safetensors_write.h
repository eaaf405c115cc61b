// Writer for the safetensors format read by io/safetensors.h: u64 little-endian header length,
// the JSON header (tensors in the order given, then "__metadata__"), padded with spaces to a
// multiple of 8 bytes as the reference implementation does, then the tensors' bytes back to back.
// Only f32 tensors are written (dtype "F32"). The file appears whole or not at all
// (io/atomic_file.h).
#pragma once
#include <filesystem>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace ckf {

struct SafetensorsEntry {
  std::string name;
  Tensor tensor;  // f32, CPU, any shape (rank 0 included)
};

// Validates before anything is written, throwing with the file and tensor name: names non-empty,
// unique and not "__metadata__", tensors f32 on the CPU with every value finite.
void safetensors_write(const std::filesystem::path& path, const std::vector<SafetensorsEntry>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace ckf
