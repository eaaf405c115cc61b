#include "dist/preemption.h"

#include <atomic>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <span>

#include "core/check.h"

namespace ckf {

namespace {

std::atomic<int> g_preempt{0};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs a lock-free flag");

extern "C" void on_preempt_signal(int) { g_preempt.store(1, std::memory_order_relaxed); }

}  // namespace

void preemption_install_handlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_preempt_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // let interrupted I/O and MPI progress resume
  for (int sig : {SIGTERM, SIGUSR1})
    CKF_CHECK(sigaction(sig, &sa, nullptr) == 0, "cannot install the preemption handler for signal " << sig);
}

bool preemption_flag_local() { return g_preempt.load(std::memory_order_relaxed) != 0; }

void preemption_set_local(bool on) { g_preempt.store(on ? 1 : 0, std::memory_order_relaxed); }

bool preemption_requested(Communicator& comm) {
  int32_t flag = preemption_flag_local() ? 1 : 0;
  comm.all_reduce(std::span<int32_t>(&flag, 1), ReduceOp::max);
  return flag != 0;
}

}  // namespace ckf
