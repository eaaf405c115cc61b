#include "dist/run_collectively.h"

#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace ckf {

static bool mpi_active() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

int process_rank() {
  if (mpi_active()) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
  }
  for (const char* var : {"OMPI_COMM_WORLD_RANK", "PMIX_RANK", "PMI_RANK", "SLURM_PROCID"})
    if (const char* v = std::getenv(var)) return std::atoi(v);
  return -1;
}

int run_collectively(const std::string& label, const std::function<int()>& fn) {
  std::string what;
  try {
    return fn();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "unknown exception";
  }
  int rank = process_rank();
  if (rank >= 0) std::fprintf(stderr, "%s: rank %d: error: %s\n", label.c_str(), rank, what.c_str());
  else std::fprintf(stderr, "%s: error: %s\n", label.c_str(), what.c_str());
  std::fflush(stderr);
  int size = 1;
  if (mpi_active()) MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (size > 1) MPI_Abort(MPI_COMM_WORLD, 1);  // does not return: peers in collectives are killed too
  return 1;
}

}  // namespace ckf
