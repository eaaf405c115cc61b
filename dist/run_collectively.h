// Failure propagation for multi-rank jobs. A rank that throws while its peers wait in a
// collective would leave them waiting forever; run_collectively prints the error with the rank
// and calls MPI_Abort, which ends every rank of the job promptly with a non-zero status.
#pragma once
#include <functional>
#include <string>

namespace ckf {

// Runs fn and returns its exit status. If fn throws, prints "<label>: rank R: error: <what>" to
// stderr ("<label>: error: <what>" outside any launcher) and, when MPI is initialised with more
// than one rank, aborts the job (MPI_Abort(1)); otherwise returns 1.
int run_collectively(const std::string& label, const std::function<int()>& fn);

// This process's world rank: from MPI when initialised, else from the launcher's environment
// (mpirun, srun), else -1.
int process_rank();

}  // namespace ckf
