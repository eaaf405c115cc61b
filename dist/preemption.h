// Preemption: a scheduler (Slurm --signal, Kubernetes, spot reclaim) sends SIGTERM or SIGUSR1
// some time before killing the job. The handler only sets a flag; the trainer polls
// preemption_requested(world) at each step boundary, which all-reduces (max) the flag so every rank
// takes the same decision at the same step even when only one rank got the signal. On true the
// trainer saves a checkpoint (io/checkpoint.h) and exits with kPreemptExitStatus.
//
// Lives in dist/ rather than core/ because it needs a Communicator (dist links core, not back).
#pragma once
#include "dist/communicator.h"

namespace ckf {

// EX_TEMPFAIL (sysexits.h): "temporary failure, requeue me". Launch scripts requeue on this
// status (e.g. `scontrol requeue`), and treat any other non-zero status as a real failure.
constexpr int kPreemptExitStatus = 75;

// Installs the SIGTERM and SIGUSR1 handlers (async-signal-safe: they store to a lock-free
// atomic). Idempotent.
void preemption_install_handlers();

// This process's flag (no communication).
bool preemption_flag_local();
// Sets or clears the flag (tests; a trainer that wants to stop for its own reasons).
void preemption_set_local(bool on);

// Collective over `comm`: true on every rank when any rank's flag is set.
bool preemption_requested(Communicator& comm);

}  // namespace ckf
