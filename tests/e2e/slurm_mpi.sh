#!/usr/bin/env bash
# SLURM end to end on a one-node local cluster (cluster/slurm/local-cluster.sh):
#  0. submit.sh --dry-run fills the template for a 2-node, 8-GPU run as expected;
#  1. a 2-rank `srun --mpi=pmix` job of tests/communicator_test submitted through submit.sh and
#     the ckf.sbatch.in template must complete with exit 0 and gtest's PASSED line;
#  2. preemption: tests/preempt_probe (stand-in for ckf train) gets SIGUSR1 mid-run through
#     `scancel -s USR1` (the steps, as --signal=USR1@120 would), exits 75 on every rank; the job
#     script must requeue the job, and the second run must resume from the checkpointed step and
#     finish with exit 0.
# Skips (exit 0) only when SLURM cannot be installed. The trainer e2e reuses the same pattern and
# the helpers of cluster/slurm/lib.sh (wait_for_job, job_restarts, ...).
set -u
build=${1:?usage: slurm_mpi.sh BUILD_DIR}
build=$(cd "$build" && pwd)
repo=$(cd "$(dirname "$0")/../.." && pwd)
slurm=$repo/cluster/slurm
for tool in communicator_test preempt_probe; do
  [ -x "$build/tests/$tool" ] || { echo "FAIL: missing $build/tests/$tool"; exit 1; }
done

work=$(mktemp -d /tmp/ckf-slurm-e2e.XXXXXX)
chmod 755 "$work"  # munged runs as the munge user and needs to reach its socket directory inside
# Own state dir and ports, so a developer's local cluster on the default ports is left alone.
export CKF_SLURM_STATE=$work/state CKF_SLURM_CTLD_PORT=${CKF_SLURM_CTLD_PORT:-6827}
export CKF_SLURM_SLURMD_PORT=${CKF_SLURM_SLURMD_PORT:-6828}
cleanup() {
  if [ -f "$CKF_SLURM_STATE/slurm.conf" ]; then
    SLURM_CONF=$CKF_SLURM_STATE/slurm.conf scancel --full "${jobs[@]}" 2>/dev/null || true
  fi
  timeout 60 bash "$slurm/local-cluster.sh" stop
  rm -rf "$work"
}
jobs=()
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  for f in "$work"/*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
  for f in "$CKF_SLURM_STATE"/slurmctld.log "$CKF_SLURM_STATE"/slurmd.log; do
    [ -f "$f" ] && { echo "--- tail $f"; tail -n 20 "$f"; }
  done
  exit 1
}

# 0. the filled template for a 2-node GPU run (needs no cluster)
printf 'tp = 8\n' >"$work/run.ini"
script=$(bash "$slurm/submit.sh" --config "$work/run.ini" --nodes 2 --gpus-per-node 8 --time 02:00:00 \
  --partition gpu --job-name ckf-7b --ckf /opt/ckf/bin/ckf --output-dir "$work" --dry-run -- --tp 8) ||
  fail "submit.sh --dry-run failed"
for line in "#SBATCH --nodes=2" "#SBATCH --ntasks-per-node=8" "#SBATCH --gres=gpu:8" "#SBATCH --time=02:00:00" \
    "#SBATCH --partition=gpu" "#SBATCH --requeue" "#SBATCH --signal=USR1@120" "#SBATCH --output=$work/%x-%j.out" \
    "srun --mpi=pmix /opt/ckf/bin/ckf train --config $work/run.ini --resume auto --tp 8" \
    'if [ "$rc" -eq "$CKF_EXIT_PREEMPTED" ]; then' '  scontrol requeue "$SLURM_JOB_ID"'; do
  grep -qxF -- "$line" <<<"$script" || fail "filled template lacks the line '$line'"
done
grep -q '^readonly CKF_EXIT_PREEMPTED=75$' <<<"$script" || fail "template does not requeue on 75"
bash "$slurm/submit.sh" --config "$work/missing.ini" --dry-run >/dev/null 2>&1 && fail "missing config accepted"

timeout 120 bash "$slurm/local-cluster.sh" start
rc=$?
if [ "$rc" -eq 3 ]; then echo "SKIP: SLURM cannot be installed on this machine (needs root and apt-get)"; exit 0; fi
[ "$rc" -eq 0 ] || fail "local cluster did not start (exit $rc)"
export SLURM_CONF=$CKF_SLURM_STATE/slurm.conf
# shellcheck source=../../cluster/slurm/lib.sh
source "$slurm/lib.sh"

submit() {  # submit JOB_NAME COMMAND: a 2-rank job on the local node; prints the job id
  timeout 30 bash "$slurm/submit.sh" --exec "$2" --tasks-per-node 2 --gpus-per-node 0 --time 00:05:00 \
    --job-name "$1" --output-dir "$work"
}

# 1. plain 2-rank MPI job
job=$(submit e2e-comm "$build/tests/communicator_test") || fail "submit.sh failed"
jobs+=("$job")
echo "communicator job $job"
final=$(wait_for_job "$job" 120) || fail "communicator job $job did not end"
out=$(job_output "$job")
[ "$final" = COMPLETED ] || fail "communicator job $job ended $final"
[ "$(job_exit_code "$job")" = 0 ] || fail "communicator job $job exit code $(job_exit_code "$job")"
grep -q "2 ranks" "$out" || fail "job log does not report 2 ranks"
grep -q '\[  PASSED  \]' "$out" || fail "communicator_test did not report PASSED"
grep -q '\[  FAILED  \]' "$out" && fail "communicator_test reported failures"
echo "communicator job: COMPLETED, exit 0, PASSED"

# 2. preemption: signal mid-run, requeue by the job script, resume, finish
state=$work/probe.state
job=$(submit e2e-preempt "$build/tests/preempt_probe $state 60 100") || fail "submit.sh failed"
jobs+=("$job")
echo "preempt job $job"
wait_for_job_state "$job" 60 RUNNING || fail "preempt job $job never ran"
out=$(job_output "$job")
wait_for_file_match "$out" 'starting at step 0 of 60' 30 || fail "probe did not start"
sleep 1
scancel -s USR1 "$job" || fail "scancel -s USR1 $job failed"
wait_for_file_match "$out" 'preempted after step [0-9]+, checkpoint written' 30 || fail "probe did not stop on USR1"
wait_for_file_match "$out" 'preempted with a checkpoint written: requeueing' 30 || fail "job script did not requeue"
# slurmctld makes a requeued job eligible only ~2 minutes later, so the node can clean up the old
# run; the test shortens that to the node being idle plus 2 s: slurmd rejects a relaunch whose
# credential dates from the same second as the revocation of the old one ("credential revoked").
# (StartTime=now+N would wait for the next periodic scheduler pass; an update to now schedules at once.)
wait_for_job_requeued "$job" 30 || fail "preempt job $job was not requeued"
wait_for_node_idle 30 || fail "node did not become idle after the requeue"
sleep 2
scontrol update JobId="$job" StartTime=now || fail "cannot release requeued job $job"
final=$(wait_for_job "$job" 60) || fail "preempt job $job did not end after requeue"
[ "$final" = COMPLETED ] || fail "preempt job $job ended $final"
[ "$(job_exit_code "$job")" = 0 ] || fail "preempt job exit code $(job_exit_code "$job")"
restarts=$(job_restarts "$job")
[ "${restarts:-0}" -ge 1 ] || fail "preempt job shows Restarts=$restarts, expected >= 1"
stopped=$(sed -nE 's/.*preempted after step ([0-9]+).*/\1/p' "$out" | head -n 1)
grep -q "starting at step $stopped of 60" "$out" || fail "second run did not resume from step $stopped"
grep -q "finished 60 steps (resumed from $stopped)" "$out" || fail "second run did not finish"
[ "$stopped" -lt 60 ] || fail "signal arrived after the last step ($stopped)"
echo "preempt job: stopped at step $stopped, requeued (Restarts=$restarts), resumed and COMPLETED"
echo "PASS"
