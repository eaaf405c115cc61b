#!/usr/bin/env bash
# Elastic resume of `ckf train` (tiny random decoder, synthetic MovieLens export): 4 ranks train to step 3,
# 2 ranks resume to step 6, 1 rank to step 9, 4 ranks to step 12. The placements move task adapters
# to other replicas (rating: replica 1 of 4 -> replica 0 of 2). Checks, at each reshard:
#  (c) re-saving right after the resume (--max-steps = the checkpoint's step) under the new grid
#      gives every parameter and AdamW moment bit-identical to the saved one, the same optimizer
#      step and the same merged loader cursor;
#  (a) `ckf eval` (1 rank, few samples) of the saved and the re-saved checkpoint gives the same JSON;
#  (b) each task's cursor in the resumed run's next checkpoint is the old one plus the samples the
#      3 steps consumed (3 * its batch, across epoch roll-overs), and equals the cursor of an
#      uninterrupted 1-rank run at the same step;
# and a placement naming a replica the new DP size lacks is refused naming the flag.
source "$(dirname "$0")/lib/common.sh"

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset
# 12 steps of 5 topk samples pass the 59 of the synthetic set: an epoch rolls over between steps 9 and 12.
batch=2,2,1,5
tiny_config ctr,rating,sequential,topk "$batch" > "$work/train.ini"
p4="ctr:0;rating:1;sequential:2;topk:3"
p2="ctr:1;rating:0;sequential:0;topk:1"
p1="ctr:0;rating:0;sequential:0;topk:0"
train() {
  local np=$1 log=$2; shift 2
  mpi "$np" "$ckf" train --config "$work/train.ini" --steps 12 --ckpt-every 3 --keep-last 10 "$@" > "$work/$log.log" 2>&1 \
    || { cat "$work/$log.log"; fail "train $log"; }
}

train 4 a4 --data.placement "$p4" --max-steps 3 --ckpt-dir "$work/ck"
# A 4-replica placement does not fit 2 ranks: refused before any state is loaded.
if mpi 2 "$ckf" train --config "$work/train.ini" --steps 12 --data.placement "$p4" --resume auto --ckpt-dir "$work/ck" \
  > "$work/bad.log" 2>&1; then fail "a placement naming replica 2 ran on 2 ranks"; fi
grep -q -- "--data.placement: task 'sequential': replica 2 outside \[0, 2) (data-parallel size 2)" "$work/bad.log" \
  || { cat "$work/bad.log"; fail "no placement error"; }

# One reshard: $1 ranks with placement $2 resume the newest checkpoint of ck (step $3), first
# re-saving it unchanged into a copy, then training 3 more steps.
reshard() {
  local np=$1 place=$2 step=$3 next=$(($3 + 3))
  local s=$(printf "step-%07d" "$step") n=$(printf "step-%07d" "$next")
  rm -rf "$work/re$np" && mkdir -p "$work/re$np" && cp -r "$work/ck/$s" "$work/re$np/"
  train "$np" "re$np" --data.placement "$place" --resume auto --max-steps "$step" --ckpt-dir "$work/re$np"
  grep -q "resumed from .*$s at step $step (saved by [0-9] ranks" "$work/re$np.log" || { cat "$work/re$np.log"; fail "np $np: no resume"; }
  python3 - "$work/ck/$s" "$work/re$np/$s" <<'PY' || fail "np $np: re-saved state differs"
import glob, sys, h5py, numpy as np
def load(d):
    t, states = {}, []
    for f in sorted(glob.glob(f"{d}/rank-*.h5")):
        with h5py.File(f) as h:
            states.append((np.asarray(h.attrs["optimizer_step"]).item(), h["data_cursor"][()].tolist()))
            for g in ("param", "adam_m", "adam_v"):
                for name in h[g]:  # tp = 1: every shard is the whole tensor; replicas must agree
                    x = h[g][name][()]
                    assert t.setdefault((g, name), x).tobytes() == x.tobytes(), f"{f}: replicas differ on {g}/{name}"
    assert all(s == states[0] for s in states), states
    return t, states[0]
(a, sa), (b, sb) = load(sys.argv[1]), load(sys.argv[2])
assert sorted(a) == sorted(b), set(a) ^ set(b)
for k in a:
    assert a[k].tobytes() == b[k].tobytes(), f"{k} differs: max |diff| {np.abs(a[k] - b[k]).max()}"
assert sa == sb and sa[0] == sa[1][0], (sa, sb)  # no step skipped: AdamW's count is the step
print(f"reshard: {len(a)} tensors bit-identical, optimizer step {sa[0]} and cursor {sa[1]} kept")
PY
  # The same checkpoint evaluated before and after the reshard.
  for c in "$work/ck/$s" "$work/re$np/$s"; do
    "$ckf" eval --config "$work/train.ini" --tokenizer "$here/data/tokenizer/prompt_tokenizer.json" --max-samples 6 \
      --batch 3 --ckpt "$c" --split test --out "$c.json" > "$work/eval.log" 2>&1 || { cat "$work/eval.log"; fail "eval $c"; }
  done
  python3 - "$work/ck/$s.json" "$work/re$np/$s.json" <<'PY' || fail "np $np: eval differs after the reshard"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:])
assert a.pop("checkpoint") != b.pop("checkpoint") and a == b, (a, b)  # all but the path
print("reshard: eval reports identical")
PY
  train "$np" "r$np" --data.placement "$place" --resume auto --max-steps "$next" --ckpt-dir "$work/ck"
  [ -f "$work/ck/$n/COMPLETE" ] || fail "np $np: no checkpoint at step $next"
}
reshard 2 "$p2" 3
reshard 1 "$p1" 6
reshard 4 "$p4" 9

# The loader cursors against the samples consumed and an uninterrupted 1-rank run.
train 1 straight --data.placement "$p1" --ckpt-dir "$work/st"
python3 - "$work/ck" "$work/st" "$work/data/train" "$batch" <<'PY' || fail "loader cursors"
import glob, sys, h5py
tasks, batch = ["ctr", "rating", "sequential", "topk"], [int(b) for b in sys.argv[4].split(",")]
# Samples per task (all train shards): a cursor (epoch, position) is global position epoch * N + position.
N = [sum(int(h5py.File(f).attrs["num_samples"]) for f in glob.glob(f"{sys.argv[3]}/{t}/shard-*.h5")) for t in tasks]
cur = lambda d, s: h5py.File(f"{d}/step-{s:07d}/rank-00000.h5")["data_cursor"][()].tolist()
wraps = 0
for s in (3, 6, 9, 12):
    c = cur(sys.argv[1], s)
    assert c == cur(sys.argv[2], s), (s, c, cur(sys.argv[2], s))
    assert c[0] == s, c
    for t, b in enumerate(batch):
        e, p = c[1 + 2 * t : 3 + 2 * t]
        assert 0 <= p < N[t] and e * N[t] + p == s * b, (s, tasks[t], e, p, N[t])
        if s > 3:
            e0, p0 = cur(sys.argv[1], s - 3)[1 + 2 * t : 3 + 2 * t]
            assert e * N[t] + p == e0 * N[t] + p0 + 3 * b, (s, tasks[t])
            wraps += e > e0
assert wraps > 0, "no epoch rolled over: the wrap is untested"
print(f"cursors (N = {N}): old + consumed at every reshard ({wraps} epoch roll-overs), equal to the uninterrupted run")
PY

echo "OK: train_elastic"
