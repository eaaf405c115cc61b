// dist/preemption: a signal on one rank is seen by every rank at the next preemption_requested().
#include <gtest/gtest.h>

#include <csignal>

#include "dist/mpi_communicator.h"
#include "dist/preemption.h"

namespace ckf {
namespace {

TEST(Preemption, OneRanksSignalReachesEveryRank) {
  auto world = MpiCommunicator::world();
  preemption_install_handlers();
  preemption_set_local(false);
  EXPECT_FALSE(preemption_requested(*world));
  for (int sig : {SIGUSR1, SIGTERM}) {
    const int sender = sig == SIGUSR1 ? world->size() - 1 : 0;
    if (world->rank() == sender) ASSERT_EQ(std::raise(sig), 0);
    EXPECT_EQ(preemption_flag_local(), world->rank() == sender) << "signal " << sig;
    EXPECT_TRUE(preemption_requested(*world)) << "signal " << sig << " raised on rank " << sender;
    preemption_set_local(false);
    EXPECT_FALSE(preemption_requested(*world));
  }
}

}  // namespace
}  // namespace ckf
