// Driver of tests/e2e/ckpt_kill_loop.sh.
//   ckpt_kill_tool write DIR TP   (under mpirun) resumes from the newest intact checkpoint in DIR
//                                 and saves steps N+1, N+2, ... forever (keep-last 3) with every
//                                 value the pattern of its step; each rank writes its pid to
//                                 DIR/../pids/rank-R.pid so the script can SIGKILL one at random.
//   ckpt_kill_tool verify DIR     (no MPI) finds the newest intact checkpoint and checks every
//                                 value of every saved rank, read back as the saved grid and as
//                                 tp=1 (resharded), and every rank's train state. Prints
//                                 "verified step N" or "no checkpoint"; exits 1 on any mismatch.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "dist/mpi_communicator.h"
#include "dist/run_collectively.h"
#include "dist/world.h"
#include "tests/mpi/checkpoint_model.h"

namespace fs = std::filesystem;
using namespace ckf;
using namespace ckf::test;

static int run_write(int argc, char** argv, const fs::path& dir, int tp) {
  World w = world_init(&argc, &argv);
  int status = run_collectively("ckpt_kill_tool", [&] {
    auto world = MpiCommunicator::world();
    CKF_CHECK(tp >= 1 && world->size() % tp == 0, "tp " << tp << " must divide the world " << world->size());
    const fs::path pids = dir.parent_path() / "pids";
    fs::create_directories(pids);
    std::ofstream(pids / ("rank-" + std::to_string(w.rank) + ".pid")) << ::getpid() << "\n";
    int64_t start = 0;
    if (w.rank == 0) {
      auto found = checkpoint_find_latest(dir);
      start = found ? found->manifest.step : 0;
    }
    world->broadcast(std::span<int64_t>(&start, 1), 0);
    const int dp = world->size() / tp;
    GridPos pos{tp, dp, w.rank % tp, w.rank / tp};
    std::vector<Param> ps = model_params(pos);
    auto opt = make_optimizer(ps);
    for (int64_t step = start + 1;; step++) {
      fill_all(ps, *opt, step);
      checkpoint_save(*world, dir, 3, test_meta(tp, dp), refs_of(ps), opt.get(), pattern_state(step, w.rank));
    }
    return 0;
  });
  world_finalize();
  return status;
}

// Loads every rank of grid `pos.tp` x `pos.dp` and counts mismatches against the pattern of `step`.
static int64_t check_grid(const FoundCheckpoint& ck, int tp, int dp, int64_t step) {
  int64_t bad = 0;
  for (int r = 0; r < tp * dp; r++) {
    std::vector<Param> ps = model_params({tp, dp, r % tp, r / tp});
    auto opt = make_optimizer(ps);
    checkpoint_load(ck, test_model(), refs_of(ps), opt.get(), nullptr, 0);
    bad += count_all_mismatches(ps, *opt, step);
    bad += opt->step_count() != step * 3 + 1;
  }
  return bad;
}

static int run_verify(const fs::path& dir) {
  try {
    auto found = checkpoint_find_latest(dir, std::cout);
    if (!found) {
      std::cout << "no checkpoint\n";
      return 0;
    }
    const Manifest& m = found->manifest;
    int64_t bad = check_grid(*found, m.meta.tp, m.meta.dp, m.step) + check_grid(*found, 1, 1, m.step);
    for (int r = 0; r < m.world; r++) {
      TrainState s;
      checkpoint_load(*found, test_model(), {}, nullptr, &s, r);
      bad += !(s == pattern_state(m.step, r));
    }
    if (bad) {
      std::cout << "MISMATCH: " << found->path.string() << " has " << bad << " values not of step " << m.step << "\n";
      return 1;
    }
    std::cout << "verified step " << m.step << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cout << "ERROR: " << e.what() << "\n";
    return 1;
  }
}

int main(int argc, char** argv) {
  const std::string mode = argc > 2 ? argv[1] : "";
  if (mode == "write" && argc > 3) return run_write(argc, argv, argv[2], std::atoi(argv[3]));
  if (mode == "verify") return run_verify(argv[2]);
  std::fprintf(stderr, "usage: ckpt_kill_tool write DIR TP | verify DIR\n");
  return 2;
}
