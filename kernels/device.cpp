#include "kernels/device.h"

#include <cblas.h>

#include <sstream>

#ifdef CKF_WITH_CUDA
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace ckf {

GpuQuery gpu_query() {
  GpuQuery q;
#ifdef CKF_WITH_CUDA
  cudaRuntimeGetVersion(&q.runtime_version);
  cudaDriverGetVersion(&q.driver_version);  // sets 0 when no driver is loaded
  int count = 0;
  cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess) {
    q.why_none = std::string("cudaGetDeviceCount: ") + cudaGetErrorName(err) + ": " + cudaGetErrorString(err);
    cudaGetLastError();  // clear the sticky error so later queries start clean
    return q;
  }
  if (count == 0) q.why_none = "cudaGetDeviceCount returned 0 devices";
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    q.gpus.push_back({i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
  }
#else
  q.why_none = "this ckf was built without CUDA (no nvcc at configure time, or CKF_CUDA=OFF)";
#endif
  return q;
}

std::string kernels_build_features() {
  std::ostringstream os;
#ifdef CKF_WITH_CUDA
  int rt = 0;
  cudaRuntimeGetVersion(&rt);
  int nccl = 0;
  ncclGetVersion(&nccl);
  os << "CUDA on (runtime " << rt / 1000 << "." << (rt % 1000) / 10 << ", cuBLAS " << CUBLAS_VER_MAJOR << "."
     << CUBLAS_VER_MINOR << "." << CUBLAS_VER_PATCH << ", NCCL " << nccl / 10000 << "." << (nccl / 100) % 100 << "."
     << nccl % 100 << ")";
#else
  os << "CUDA off";
#endif
  os << "\nBLAS: " << openblas_get_config() << " (kernels in use: " << openblas_get_corename() << ")";
  return os.str();
}

}  // namespace ckf
