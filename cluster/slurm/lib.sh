# Shell helpers for driving SLURM from scripts and end-to-end tests (source this file).
# Used by local-cluster.sh and tests/e2e/slurm_*.sh (through tests/e2e/lib/slurm.sh).
# Accounting is off on the local cluster, so job state comes from `scontrol show job`, never sacct.

# State directory of the local cluster: config, logs, pid files.
CKF_SLURM_STATE=${CKF_SLURM_STATE:-/tmp/ckf-slurm}
# Point the SLURM clients at the local cluster's config when it exists and the caller set none.
if [ -z "${SLURM_CONF:-}" ] && [ -f "$CKF_SLURM_STATE/slurm.conf" ]; then
  export SLURM_CONF=$CKF_SLURM_STATE/slurm.conf
fi

# job_field JOBID FIELD: one field of `scontrol show job -o` (e.g. JobState, ExitCode, Restarts).
job_field() {
  scontrol show job -o "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# job_state JOBID: PENDING, RUNNING, COMPLETED, FAILED, ... ("" when the job is unknown).
job_state() { job_field "$1" JobState; }

# wait_for_job_state JOBID TIMEOUT_S STATE...: waits until the job is in one of the states.
# Returns 0 when it is, 1 on timeout (the last state is printed to stderr).
wait_for_job_state() {
  local id=$1 timeout=$2; shift 2
  local deadline=$(( $(date +%s) + timeout )) st=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    st=$(job_state "$id")
    for want in "$@"; do [ "$st" = "$want" ] && return 0; done
    sleep 0.5
  done
  echo "job $id: still '$st' after ${timeout}s (waited for: $*)" >&2
  return 1
}

# wait_for_job JOBID TIMEOUT_S: waits until the job has ended for good (not requeued);
# prints its final state. Returns 1 on timeout.
wait_for_job() {
  wait_for_job_state "$1" "$2" COMPLETED FAILED CANCELLED TIMEOUT NODE_FAIL OUT_OF_MEMORY BOOT_FAIL DEADLINE \
    PREEMPTED || return 1
  job_state "$1"
}

# job_exit_code JOBID: the batch script's exit status (first half of ExitCode=STATUS:SIGNAL).
job_exit_code() { job_field "$1" ExitCode | cut -d: -f1; }

# job_restarts JOBID: how often the job was requeued.
job_restarts() { job_field "$1" Restarts; }

# wait_for_job_requeued JOBID TIMEOUT_S: waits until the job has been requeued (Restarts >= 1)
# and is pending again.
wait_for_job_requeued() {
  local deadline=$(( $(date +%s) + $2 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ "$(job_restarts "$1")" -ge 1 ] 2>/dev/null && [ "$(job_state "$1")" = PENDING ]; then return 0; fi
    sleep 0.5
  done
  echo "job $1: not requeued after $2 s (state '$(job_state "$1")', restarts '$(job_restarts "$1")')" >&2
  return 1
}

# job_output JOBID: path of the job's stdout file.
job_output() { job_field "$1" StdOut; }

# wait_for_file_match FILE REGEX TIMEOUT_S: waits until FILE holds a line matching REGEX.
wait_for_file_match() {
  local file=$1 re=$2 deadline=$(( $(date +%s) + $3 ))
  while [ "$(date +%s)" -lt "$deadline" ]; do
    if [ -f "$file" ] && grep -Eq "$re" "$file"; then return 0; fi
    sleep 0.2
  done
  echo "no line matching '$re' in $file after $3 s" >&2
  return 1
}

# wait_for_node_idle TIMEOUT_S: waits until every node of the cluster reports idle.
wait_for_node_idle() {
  local deadline=$(( $(date +%s) + $1 )) st=""
  while [ "$(date +%s)" -lt "$deadline" ]; do
    st=$(sinfo -h -N -o %t 2>/dev/null | sort -u | tr '\n' ' ')
    [ "$st" = "idle " ] && return 0
    sleep 0.5
  done
  echo "nodes not idle after $1 s (state: '$st')" >&2
  return 1
}
