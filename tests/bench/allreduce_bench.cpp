// All-reduce bandwidth of MpiCommunicator (f32 sum, host memory), reported like nccl-tests:
//   algbw = bytes / time,  busbw = algbw * 2 (p-1) / p   (the per-link traffic of a ring).
// busbw is also what the communicator's byte counter gives per second, which is printed as a
// cross-check. Time per size is the slowest rank's mean over the timed iterations.
// usage: mpirun -np P allreduce_bench [max_mib=64]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "dist/mpi_communicator.h"
#include "dist/run_collectively.h"
#include "dist/world.h"

using namespace ckf;

static int bench(int max_mib) {
  auto comm = MpiCommunicator::world();
  const int p = comm->size();
  if (comm->rank() == 0) {
    std::printf("# MpiCommunicator all_reduce f32 sum, %d rank(s)\n", p);
    std::printf("%12s %8s %12s %10s %10s %14s %6s\n", "bytes", "iters", "time_us", "algbw_GB/s", "busbw_GB/s",
                "counted_GB/s", "wrong");
  }
  for (size_t bytes = 64 << 10; bytes <= (size_t(max_mib) << 20); bytes *= 2) {
    const int64_t n = bytes / sizeof(float);
    std::vector<float> buf(n);
    const int iters = std::clamp(int((size_t(256) << 20) / bytes), 5, 100);
    // Warm-up (connection setup, page faults), then a correctness check: ones sum to p.
    std::fill(buf.begin(), buf.end(), 1.0f);
    comm->all_reduce(std::span<float>(buf));
    int64_t wrong = std::count_if(buf.begin(), buf.end(), [p](float x) { return x != float(p); });
    comm->barrier();
    comm->reset_counters();
    double t0 = MPI_Wtime();
    for (int it = 0; it < iters; ++it) comm->all_reduce(std::span<float>(buf));
    double mean = (MPI_Wtime() - t0) / iters;
    uint64_t counted = comm->counter(Collective::all_reduce).bytes / iters;
    comm->all_reduce(std::span<double>(&mean, 1), ReduceOp::max);
    comm->all_reduce(std::span<int64_t>(&wrong, 1));
    double algbw = bytes / mean / 1e9;
    double busbw = algbw * 2.0 * (p - 1) / p;
    if (comm->rank() == 0)
      std::printf("%12zu %8d %12.1f %10.3f %10.3f %14.3f %6lld\n", bytes, iters, mean * 1e6, algbw, busbw,
                  counted / mean / 1e9, static_cast<long long>(wrong));
  }
  return 0;
}

int main(int argc, char** argv) {
  world_init(&argc, &argv);
  int max_mib = argc > 1 ? std::atoi(argv[1]) : 64;
  int status = run_collectively("allreduce_bench", [&] { return bench(max_mib); });
  world_finalize();
  return status;
}
