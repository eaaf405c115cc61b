#include "io/model_identity.h"

#include <cstdio>
#include <fstream>
#include <vector>

#include "core/check.h"

namespace ckf {

ModelIdentity model_identity_of(const std::filesystem::path& model_file) {
  constexpr int64_t kBlock = 64 << 10;
  constexpr int64_t kBlocks = 16;
  std::ifstream in(model_file, std::ios::binary);
  CKF_CHECK(in, "model identity: cannot open " << model_file);
  ModelIdentity id;
  id.path = model_file.string();
  id.size = static_cast<int64_t>(std::filesystem::file_size(model_file));
  uint64_t h = fnv1a64(&id.size, sizeof id.size);
  std::vector<char> buf(kBlock);
  const bool whole = id.size <= kBlock * kBlocks;
  const int64_t n_blocks = whole ? (id.size + kBlock - 1) / kBlock : kBlocks;
  for (int64_t b = 0; b < n_blocks; b++) {
    const int64_t offset = whole ? b * kBlock : b * (id.size - kBlock) / (kBlocks - 1);
    const int64_t len = std::min(kBlock, id.size - offset);
    in.seekg(offset);
    in.read(buf.data(), len);
    CKF_CHECK(in.gcount() == len, "model identity: short read at offset " << offset << " of " << model_file);
    h = fnv1a64(buf.data(), static_cast<size_t>(len), h);
  }
  id.hash = "fnv1a64-sampled:" + hex64(h);
  return id;
}

}  // namespace ckf
