#!/usr/bin/env bash
# Preemption of a real `ckf train` job on a one-node local SLURM cluster (cluster/slurm/local-cluster.sh):
# a tiny random decoder on the synthetic dataset, 2 ranks via srun (the tasks pinned over the 2
# replicas), submitted by cluster/slurm/submit.sh with the ckf.sbatch.in template. Mid-run the job
# steps get USR1 (`scancel -s USR1`, as --signal=USR1@120 sends it); checks: ckf writes a checkpoint
# at that step and exits 75 on every rank, the job script requeues the job (Restarts >= 1), the
# requeued run logs "resumed from" that checkpoint and completes with exit 0, and the result equals
# an uninterrupted `mpirun -np 2` run of the same config: every step's printed losses, grad norm and
# lr (tests/e2e/lib/same_run.py) and the final checkpoint's parameters and AdamW moments, bit for bit.
# Skips (exit 0) only when SLURM cannot be installed.
source "$(dirname "$0")/lib/common.sh"
source "$here/e2e/lib/tiny_dataset.sh"
source "$here/e2e/lib/slurm.sh"

tiny_dataset
tiny_config ctr,rating,sequential,topk 4,4,2,2 > "$work/train.ini"
# ~0.1 s a step here: the signal, sent after step 2, lands well before the last step.
steps=80
run=(--steps "$steps" --ckpt-every 20 --keep-last 10 --log-every 1 --data.placement "ctr:0;rating:0;sequential:1;topk:1")

slurm_start 6837 6838
slurm_submit e2e-train --config "$work/train.ini" --ckf "$ckf" -- "${run[@]}" --metrics "$work/job.jsonl" --ckpt-dir "$work/ck"
wait_for_job_state "$job" 60 RUNNING || fail "train job $job never ran"
out=$(job_output "$job")
# The signal handlers are installed before the first step: from then on USR1 means "checkpoint and stop".
wait_for_file_match "$out" '^step 2/' 60 || fail "ckf train did not reach step 2"
scancel -s USR1 "$job" || fail "scancel -s USR1 $job failed"
wait_for_file_match "$out" 'srun exited with' 60 || fail "ckf train did not stop after USR1"
grep -q "srun exited with 75" "$out" || fail "srun did not exit with 75 (preempted)"
grep -q "preempted with a checkpoint written: requeueing" "$out" || fail "job script did not requeue"
stopped=$(sed -nE 's/^preempted at step ([0-9]+)$/\1/p' "$out" | head -n 1)
[ -n "$stopped" ] || fail "ckf train did not report the preemption"
[ "$stopped" -lt "$steps" ] || fail "the signal arrived after the last step ($stopped)"
ckpt=$(printf '%s/ck/step-%07d' "$work" "$stopped")
[ -f "$ckpt/COMPLETE" ] || fail "no complete checkpoint $ckpt after the preemption"
# slurmctld makes a requeued job eligible only ~2 minutes later, so the node can clean up the old
# run; the test shortens that to the node being idle plus 2 s: slurmd rejects a relaunch whose
# credential dates from the same second as the revocation of the old one ("credential revoked").
# (StartTime=now+N would wait for the next periodic scheduler pass; an update to now schedules at once.)
wait_for_job_requeued "$job" 30 || fail "train job $job was not requeued"
wait_for_node_idle 30 || fail "node did not become idle after the requeue"
sleep 2
scontrol update JobId="$job" StartTime=now || fail "cannot release requeued job $job"
final=$(wait_for_job "$job" 120) || fail "train job $job did not end after the requeue"
[ "$final" = COMPLETED ] || fail "train job $job ended $final"
[ "$(job_exit_code "$job")" = 0 ] || fail "train job $job exit code $(job_exit_code "$job")"
restarts=$(job_restarts "$job")
[ "${restarts:-0}" -ge 1 ] || fail "train job $job shows Restarts=$restarts, expected >= 1"
grep -q "^resumed from $ckpt at step $stopped " "$out" || fail "the requeued run did not resume from $ckpt"
threads=$(sed -nE 's/.*\(restart 1\).*ranks, ([0-9]+) threads each$/\1/p' "$out")
[ -n "$threads" ] || fail "no log line of the requeued run"
echo "train job $job: preempted at step $stopped, requeued (Restarts=$restarts), resumed and COMPLETED"

# The uninterrupted run, with the job's BLAS threads per rank.
OMP_NUM_THREADS=$threads OPENBLAS_NUM_THREADS=$threads mpi 2 "$ckf" train --config "$work/train.ini" "${run[@]}" \
  --metrics "$work/ref.jsonl" --ckpt-dir "$work/ref" > "$work/ref.log" 2>&1 || { cat "$work/ref.log"; fail "uninterrupted run"; }
python3 "$here/e2e/lib/same_run.py" metrics "$work/ref.jsonl" "$work/job.jsonl" "$steps" || fail "the preempted job's losses differ"
last=$(printf 'step-%07d' "$steps")
python3 "$here/e2e/lib/same_run.py" ckpt "$work/ref/$last" "$work/ck/$last" || fail "the preempted job's final checkpoint differs"
echo "PASS"
