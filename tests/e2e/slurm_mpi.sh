#!/usr/bin/env bash
# SLURM end to end on a one-node local cluster (cluster/slurm/local-cluster.sh):
#  1. submit.sh --dry-run fills the template for a 2-node, 8-GPU run as expected (no cluster needed);
#  2. a 2-rank `srun --mpi=pmix` job of tests/communicator_test submitted through submit.sh and
#     the ckf.sbatch.in template must complete with exit 0 and gtest's PASSED line.
# Preemption, requeue and resume of a real `ckf train` job: slurm_train.sh. Skips (exit 0) only
# when SLURM cannot be installed.
source "$(dirname "$0")/lib/common.sh"
source "$here/e2e/lib/slurm.sh"
[ -x "$build/tests/communicator_test" ] || fail "missing $build/tests/communicator_test"

# 1. the filled template for a 2-node GPU run
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
if bash "$slurm/submit.sh" --config "$work/missing.ini" --dry-run >/dev/null 2>&1; then fail "missing config accepted"; fi

# 2. plain 2-rank MPI job
slurm_start 6827 6828
slurm_submit e2e-comm --exec "$build/tests/communicator_test"
final=$(wait_for_job "$job" 120) || fail "communicator job $job did not end"
out=$(job_output "$job")
[ "$final" = COMPLETED ] || fail "communicator job $job ended $final"
[ "$(job_exit_code "$job")" = 0 ] || fail "communicator job $job exit code $(job_exit_code "$job")"
grep -q "2 ranks" "$out" || fail "job log does not report 2 ranks"
grep -q '\[  PASSED  \]' "$out" || fail "communicator_test did not report PASSED"
if grep -q '\[  FAILED  \]' "$out"; then fail "communicator_test reported failures"; fi
echo "communicator job: COMPLETED, exit 0, PASSED"
echo "PASS"
