#!/usr/bin/env bash
# `ckf train` end to end on 2 ranks with a tiny random decoder: ckf prep --model (tokenized prompts)
# and ckf cf on the MovieLens fixture, then training with the tasks pinned over the 2 replicas.
# Checks: the loss falls (mean of the first 5 steps vs the last 5), the JSONL metrics, and exact
# resume: N steps straight vs k steps + --resume auto + N-k steps give identical losses for every
# later step and identical parameters and AdamW moments in the final checkpoint; SIGUSR1 gives a
# checkpoint and exit status 75; persistent non-finite losses checkpoint and fail.
source "$(dirname "$0")/lib/common.sh"

"$ckf" prep --source movielens-latest --input "$here/data/raw/ml-latest-tiny" --out "$work/data" \
  --seq-candidates 2 --topk-candidates 2 --seed 3 --positive-min 0.5 \
  --model "$here/data/tokenizer/prompt_tokenizer.json" > "$work/prep.log" || { cat "$work/prep.log"; fail "prep"; }
"$ckf" cf --data "$work/data" --dim 8 --epochs 2 --out "$work/cf.h5" > "$work/cf.log" || { cat "$work/cf.log"; fail "cf"; }

# The tokenizer has 400 ids; the tiny decoder's vocabulary covers them.
common=(--model.random tiny --model.vocab 400 --data.dir "$work/data" --data.cf "$work/cf.h5"
  --data.tasks ctr,rating,sequential,topk --data.batch 4,4,2,2 --data.placement "ctr:0;rating:0;sequential:1;topk:1"
  --lora.shared-r 4 --lora.task-r 4 --mapper.meta-hidden 8 --mapper.proj-hidden 16 --curriculum.on
  --optim.warmup 2 --seed 5)
lr=(--optim.lr 0.01)

# Training: the loss falls.
mpi 2 "$ckf" train "${common[@]}" "${lr[@]}" --steps 30 --metrics "$work/m.jsonl" --ckpt-dir "$work/ck" --log-every 10 \
  > "$work/train.log" 2>&1 || { cat "$work/train.log"; fail "train"; }
grep -q "^step 30/30" "$work/train.log" || { cat "$work/train.log"; fail "no progress line for step 30"; }
[ "$(wc -l < "$work/m.jsonl")" = 30 ] || fail "expected 30 metrics lines"
python3 - "$work/m.jsonl" <<'PY' || fail "loss did not decrease"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
loss = [r["loss"] for r in rows]
first, last = sum(loss[:5]) / 5, sum(loss[-5:]) / 5
print(f"loss first-5 mean {first:.4f}, last-5 mean {last:.4f}")
assert last < 0.8 * first, (first, last)
assert all(set(r["task_loss"]) == {"ctr", "rating", "sequential", "topk"} for r in rows)
assert rows[-1]["bytes_sent"]["dp"] > 0 and rows[-1]["skipped"] == 0
PY
[ -f "$work/ck/step-0000030/COMPLETE" ] || fail "no final checkpoint"

# Exact resume: 12 steps straight vs 5 steps, then resume to 12 (checkpoints every 4 steps too).
short=(--steps 12 --ckpt-every 4)
mpi 2 "$ckf" train "${common[@]}" "${lr[@]}" "${short[@]}" --metrics "$work/a.jsonl" --ckpt-dir "$work/a" > "$work/a.log" 2>&1 \
  || { cat "$work/a.log"; fail "straight run"; }
mpi 2 "$ckf" train "${common[@]}" "${lr[@]}" "${short[@]}" --max-steps 5 --metrics "$work/b.jsonl" --ckpt-dir "$work/b" \
  > "$work/b.log" 2>&1 || { cat "$work/b.log"; fail "first half"; }
mpi 2 "$ckf" train "${common[@]}" "${lr[@]}" "${short[@]}" --resume auto --metrics "$work/b.jsonl" --ckpt-dir "$work/b" \
  > "$work/b2.log" 2>&1 || { cat "$work/b2.log"; fail "resumed half"; }
grep -q "resumed from .*step-0000005 at step 5" "$work/b2.log" || { cat "$work/b2.log"; fail "did not resume at step 5"; }
python3 "$here/e2e/lib/same_run.py" metrics "$work/a.jsonl" "$work/b.jsonl" 12 || fail "resumed losses differ"
python3 "$here/e2e/lib/same_run.py" ckpt "$work/a/step-0000012" "$work/b/step-0000012" || fail "resumed parameters or moments differ"
# Loss weights: a task of weight 0 gets no gradient, so its adapters' B stay at their zero start.
mpi 2 "$ckf" train "${common[@]}" "${lr[@]}" --steps 3 --data.loss-weights 1,1,1,0 --ckpt-dir "$work/w" > "$work/w.log" 2>&1 \
  || { cat "$work/w.log"; fail "weighted run"; }
python3 - "$work/w/step-0000003/rank-00001.h5" <<'PY' || fail "loss weights"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1]) as f:
    b = {n: f["param"][n][()] for n in f["param"] if ".lora_B." in n}
topk = [v for n, v in b.items() if n.startswith("lora.task.topk.")]
seq = [v for n, v in b.items() if n.startswith("lora.task.sequential.")]
assert topk and seq
assert all(np.all(v == 0) for v in topk), "weight-0 task adapters moved"
assert all(np.any(v != 0) for v in seq), "weight-1 task adapters did not move"
print("loss weights: weight-0 task adapters unchanged")
PY

# Non-finite losses: an absurd learning rate makes the adapters overflow after one update; the
# next steps are skipped, and past --nonfinite-limit the run checkpoints and fails naming the flag.
if mpi 2 "$ckf" train "${common[@]}" --mapper.kind none --steps 20 --optim.lr 1e38 --optim.clip 0 --nonfinite-limit 2 \
  --ckpt-dir "$work/nf" > "$work/nf.log" 2>&1; then
  fail "a diverged run succeeded"
fi
grep -q "loss non-finite for 3 consecutive steps (--nonfinite-limit 2)" "$work/nf.log" || { cat "$work/nf.log"; fail "no non-finite error"; }
grep -q "(skipped: non-finite gradient)" "$work/nf.log" || { cat "$work/nf.log"; fail "no skipped step"; }
[ -f "$work/nf/step-0000003/COMPLETE" ] || { cat "$work/nf.log"; fail "no checkpoint before the non-finite error"; }

# Preemption: SIGUSR1 (mpirun forwards it) makes every rank checkpoint at one step and exit 75.
"${mpirun[@]}" -np 2 "$ckf" train "${common[@]}" "${lr[@]}" --steps 100000 --ckpt-dir "$work/p" --log-every 5 > "$work/p.log" 2>&1 &
job=$!
for _ in $(seq 600); do grep -q "^step 5/" "$work/p.log" && break; sleep 0.1; done
grep -q "^step 5/" "$work/p.log" || { kill $job; cat "$work/p.log"; fail "no progress before the signal"; }
kill -USR1 $job
status=0
wait $job || status=$?
[ "$status" = 75 ] || { cat "$work/p.log"; fail "preempted run exited $status, not 75"; }
grep -q "^preempted at step" "$work/p.log" || { cat "$work/p.log"; fail "no preemption message"; }
ls "$work"/p/step-*/COMPLETE > /dev/null || fail "no checkpoint after preemption"

# The embedded SmolLM2 model, when the cache holds it: its own tokenized prompts, two steps on one
# rank, then a resume that checks the model identity recorded in the checkpoint.
gguf=${CKF_MODEL_GGUF:-${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
if [ -f "$gguf" ]; then
  "$ckf" prep --source movielens-latest --input "$here/data/raw/ml-latest-tiny" --out "$work/gdata" \
    --seq-candidates 2 --topk-candidates 2 --seed 3 --positive-min 0.5 --model "$gguf" > /dev/null
  real=(--model.path "$gguf" --data.dir "$work/gdata" --data.cf "$work/cf.h5" --data.tasks ctr,topk --data.batch 1,1
    --steps 3 --ckpt-dir "$work/g")
  "$ckf" train "${real[@]}" --max-steps 2 > "$work/g.log" 2>&1 || { cat "$work/g.log"; fail "train on $gguf"; }
  "$ckf" train "${real[@]}" --resume auto > "$work/g2.log" 2>&1 || { cat "$work/g2.log"; fail "resume on $gguf"; }
  grep -q "^step 3/3  ctr [0-9]" "$work/g2.log" || { cat "$work/g2.log"; fail "no finite loss at step 3 on $gguf"; }
  # Shards tokenized by another tokenizer (the fixture's) are refused before any step.
  if "$ckf" train --model.path "$gguf" --data.dir "$work/data" --data.cf "$work/cf.h5" --data.tasks ctr \
      --data.batch 1 --steps 1 > "$work/mis.log" 2>&1; then fail "train accepted shards of another tokenizer"; fi
  grep -q "tokenizer" "$work/mis.log" || { cat "$work/mis.log"; fail "tokenizer mismatch not named"; }
fi

echo "OK: train_tiny"
