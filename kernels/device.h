// What accelerators this process can see, asked of the CUDA runtime when the build has CUDA.
// A machine without a GPU or driver is a normal answer ("none, because ..."), never a crash.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace ckf {

struct GpuInfo {
  int index = 0;
  std::string name;
  size_t memory_bytes = 0;
  int cc_major = 0, cc_minor = 0;
};

struct GpuQuery {
  std::vector<GpuInfo> gpus;
  std::string why_none;      // set when gpus is empty: the runtime's error string, or "built without CUDA"
  int runtime_version = 0;   // CUDA runtime the binary was built against, e.g. 13000 (0 without CUDA)
  int driver_version = 0;    // 0 when no driver is installed
};

GpuQuery gpu_query();

// "CUDA 13.0 (sm 80;90), cuBLAS 13.x, NCCL 2.x" or "CUDA off"; "BLAS OpenBLAS 0.3.x ..."
std::string kernels_build_features();

}  // namespace ckf
