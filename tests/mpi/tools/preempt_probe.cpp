// Stand-in for a preemptible `ckf train` in tests/e2e/slurm_mpi.sh: runs STEPS steps of STEP_MS
// each; every step all-reduces (max) a "SIGUSR1 seen" flag, so when any rank gets the signal all
// ranks stop at the same step. Rank 0 then records the step in STATE_FILE (the "checkpoint") and
// every rank exits with 75, ckf's "preempted, checkpoint written" status. A run that finds
// STATE_FILE resumes from its step; the run that completes prints "finished".
//   usage: preempt_probe STATE_FILE STEPS STEP_MS
#include <mpi.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

namespace {

constexpr int kExitPreempted = 75;  // EX_TEMPFAIL, as in core/preemption.h
volatile std::sig_atomic_t g_preempt_requested = 0;

void on_usr1(int) { g_preempt_requested = 1; }

int read_start_step(const std::string& path) {
  std::ifstream in(path);
  int step = 0;
  if (in >> step) return step;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (argc != 4) {
    if (rank == 0) std::fprintf(stderr, "usage: preempt_probe STATE_FILE STEPS STEP_MS\n");
    MPI_Finalize();
    return 2;
  }
  const std::string state_path = argv[1];
  const int steps = std::atoi(argv[2]), step_ms = std::atoi(argv[3]);

  struct sigaction sa = {};
  sa.sa_handler = on_usr1;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, nullptr);

  int start = 0;
  if (rank == 0) start = read_start_step(state_path);
  MPI_Bcast(&start, 1, MPI_INT, 0, MPI_COMM_WORLD);
  if (rank == 0) std::printf("preempt_probe: %d ranks, starting at step %d of %d\n", size, start, steps);
  std::fflush(stdout);

  for (int step = start; step < steps; ++step) {
    std::this_thread::sleep_for(std::chrono::milliseconds(step_ms));
    int local = g_preempt_requested, any = 0;
    MPI_Allreduce(&local, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any) {
      if (rank == 0) {
        std::ofstream(state_path) << step + 1 << "\n";
        std::printf("preempt_probe: preempted after step %d, checkpoint written\n", step + 1);
        std::fflush(stdout);
      }
      MPI_Finalize();
      return kExitPreempted;
    }
  }
  if (rank == 0) std::printf("preempt_probe: finished %d steps (resumed from %d)\n", steps, start);
  MPI_Finalize();
  return 0;
}
