// `ckf --version` and `ckf devices`.
#include <H5public.h>
#include <mpi.h>

#include <iostream>

#include "kernels/device.h"
#include "launch/command.h"

namespace ckf {

static int version_run(const std::vector<std::string>&) {
  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING];
  int len = 0;
  MPI_Get_library_version(mpi_version, &len);  // callable before MPI_Init
  std::string mpi(mpi_version, len);
  if (auto nl = mpi.find('\n'); nl != std::string::npos) mpi.resize(nl);
  while (!mpi.empty() && (mpi.back() == ',' || mpi.back() == ' ')) mpi.pop_back();
  unsigned h5maj = 0, h5min = 0, h5rel = 0;
  H5get_libversion(&h5maj, &h5min, &h5rel);
  std::cout << "ckf " << CKF_VERSION << "\n"
            << kernels_build_features() << "\n"
            << "MPI: " << mpi << "\n"
            << "HDF5: " << h5maj << "." << h5min << "." << h5rel << "\n";
  return 0;
}

static int devices_run(const std::vector<std::string>&) {
  GpuQuery q = gpu_query();
  if (q.gpus.empty()) {
    std::cout << "no GPUs: " << q.why_none << "\n";
    return 0;
  }
  for (const GpuInfo& g : q.gpus)
    std::cout << "GPU " << g.index << ": " << g.name << ", " << g.memory_bytes / (1024 * 1024) << " MiB, sm_"
              << g.cc_major << g.cc_minor << "\n";
  std::cout << "CUDA runtime " << q.runtime_version << ", driver " << q.driver_version << "\n";
  return 0;
}

CKF_COMMAND("version", "version and build features (CUDA, NCCL, MPI, HDF5, BLAS)", version_run);
CKF_COMMAND("devices", "list the GPUs this process sees, or why there are none", devices_run);

}  // namespace ckf
