// Failure-propagation probe for tests/e2e/dist_abort.sh: rank FAIL_RANK (argv[1], default 1)
// throws after a short delay while every other rank blocks in an all-reduce that can never
// complete. With run_collectively the job must end at once, non-zero, naming the rank.
#include <chrono>
#include <cstdlib>
#include <thread>
#include <vector>

#include "core/check.h"
#include "dist/mpi_communicator.h"
#include "dist/run_collectively.h"
#include "dist/world.h"

int main(int argc, char** argv) {
  using namespace ckf;
  World w = world_init(&argc, &argv);
  int fail_rank = argc > 1 ? std::atoi(argv[1]) : 1;
  int status = run_collectively("fail_on_rank", [&] {
    auto world = MpiCommunicator::world();
    if (w.rank == fail_rank) {
      std::this_thread::sleep_for(std::chrono::milliseconds(500));  // let the peers enter the collective
      CKF_FAIL("deliberate failure for the abort test");
    }
    std::vector<float> x(1024, 1.0f);
    world->all_reduce(std::span<float>(x));
    return 0;
  });
  world_finalize();
  return status;
}
