// This process's place in the job, read from MPI whether mpirun or srun started it.
#pragma once

namespace ckf {

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;  // rank among the processes on this node (selects the GPU)
  int local_size = 1;
};

// Initialises MPI (thread level FUNNELED) on first use; safe to call again.
World world_init(int* argc, char*** argv);

// Finalises MPI if world_init initialised it.
void world_finalize();

}  // namespace ckf
