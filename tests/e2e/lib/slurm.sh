# Sourced by the SLURM e2e scripts after lib/common.sh. slurm_start CTLD_PORT SLURMD_PORT starts a
# one-node local cluster (cluster/slurm/local-cluster.sh) with its state under $work and ports of
# its own, so neither a developer's cluster on the default ports nor the other SLURM e2e script
# running at the same time is disturbed; it exits 0 with SKIP when SLURM cannot be installed.
# slurm_submit NAME [submit.sh options] submits a 2-rank job on the local node, sets $job to its id
# and records it in $jobs. On exit those jobs are cancelled, the daemons stopped and $work
# removed; fail() also prints the job logs and the daemons' log tails.
slurm=$(cd "$here/../cluster/slurm" && pwd)
chmod 755 "$work"  # munged runs as the munge user and needs to reach its socket directory inside
export CKF_SLURM_STATE=$work/state
jobs=()
slurm_cleanup() {
  if [ -f "$CKF_SLURM_STATE/slurm.conf" ] && [ "${#jobs[@]}" -gt 0 ]; then
    SLURM_CONF=$CKF_SLURM_STATE/slurm.conf scancel --full "${jobs[@]}" 2>/dev/null || true
  fi
  timeout 60 bash "$slurm/local-cluster.sh" stop || true
  rm -rf "$work"
}
trap slurm_cleanup EXIT

fail() {
  echo "FAIL: $*"
  local f
  for f in "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
  for f in "$CKF_SLURM_STATE"/slurmctld.log "$CKF_SLURM_STATE"/slurmd.log; do
    [ -f "$f" ] && { echo "--- tail $f"; tail -n 20 "$f"; }
  done
  exit 1
}

slurm_start() {
  export CKF_SLURM_CTLD_PORT=${CKF_SLURM_CTLD_PORT:-$1} CKF_SLURM_SLURMD_PORT=${CKF_SLURM_SLURMD_PORT:-$2}
  local rc=0
  timeout 120 bash "$slurm/local-cluster.sh" start || rc=$?
  if [ "$rc" -eq 3 ]; then echo "SKIP: SLURM cannot be installed on this machine (needs root and apt-get)"; exit 0; fi
  [ "$rc" -eq 0 ] || fail "local cluster did not start (exit $rc)"
  export SLURM_CONF=$CKF_SLURM_STATE/slurm.conf
  # shellcheck source=../../../cluster/slurm/lib.sh
  source "$slurm/lib.sh"
}

slurm_submit() {
  local name=$1; shift
  job=$(timeout 30 bash "$slurm/submit.sh" --tasks-per-node 2 --gpus-per-node 0 --time 00:05:00 \
    --job-name "$name" --output-dir "$work" "$@") || fail "submit.sh for $name failed"
  jobs+=("$job")
  echo "$name: job $job"
}
