#!/usr/bin/env bash
# Tensor-parallel training end to end (tiny random decoder: 4 heads, 2 KV heads, ffn 64, vocab 400;
# the synthetic dataset of lib/tiny_dataset.sh), against the same run at --tp 1 (fp32; tolerance 1e-4 relative on losses,
# gradient norms and parameters, which drift apart only by summation order):
#  1. 2 ranks --tp 2 equal 1 rank for every step's loss and gradient norm;
#  2. 4 ranks --tp 2 (2 replicas, tasks pinned) equal 2 ranks --tp 1 with the same placement; with
#     tasks on overlapping replica groups, each task's adapters live on exactly its group's replicas,
#     bit-identical there, and the shared adapters and mapper are identical on every replica;
#  3. elastic TP: --tp 2 to step 4, resume on 1 rank (--tp 1) to step 8, resume at --tp 2 to step
#     12: every step's loss equals the uninterrupted 1-rank run, and a checkpoint re-saved right
#     after a resume across the TP change holds the same parameters and AdamW moments.
source "$(dirname "$0")/lib/common.sh"

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

common=(--model.random tiny --model.vocab 400 --data.dir "$work/data" --data.cf "$work/cf.h5"
  --data.tasks ctr,rating,sequential,topk --data.batch 2,2,1,1 --lora.shared-r 4 --lora.task-r 4
  --lora.shared-targets k,v,o,down --lora.task-targets q,gate,up --mapper.meta-hidden 8 --mapper.proj-hidden 16
  --curriculum.on --optim.lr 0.01 --optim.warmup 2 --seed 5 --steps 12 --ckpt-every 4 --keep-last 10)
same_steps() { python3 "$here/e2e/lib/same_run.py" metrics-close "$@" || fail "$1 and $2 differ"; }

single="ctr:0;rating:0;sequential:0;topk:0"
pinned="ctr:0;rating:0;sequential:1;topk:1"
train_common 1 straight --data.placement "$single" --ckpt-dir "$work/st"

# 1. tp 2 x dp 1
train_common 2 tp2 --tp 2 --data.placement "$single" --max-steps 6
grep -q "^step 6/12" "$work/tp2.log" || { cat "$work/tp2.log"; fail "no progress line at --tp 2"; }
same_steps "$work/tp2.jsonl" "$work/straight.jsonl" 1 6

# 2. tp 2 x dp 2 against tp 1 x dp 2
train_common 2 dp2 --data.placement "$pinned" --max-steps 4
train_common 4 tp2dp2 --tp 2 --data.placement "$pinned" --max-steps 4
same_steps "$work/tp2dp2.jsonl" "$work/dp2.jsonl" 1 4
python3 - "$work/tp2dp2.jsonl" <<'PY' || fail "no tp bytes at --tp 2"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["bytes_sent"]["tp"] > 0 and r["bytes_sent"]["dp"] > 0, r["bytes_sent"]
print("bytes sent per step by group:", r["bytes_sent"])
PY

# Task pinning under TP x DP: after a few steps every replica of a task's group holds bit-identical
# adapters (and AdamW moments) for it, replicas outside the group hold none of them, and the shared
# adapters and the mapper are identical on every replica (per tp rank: each holds its own slices).
overlap="ctr:0,1;rating:0;sequential:1;topk:0,1"
train_common 4 pin --tp 2 --data.placement "$overlap" --max-steps 4 --ckpt-dir "$work/pin"
python3 - "$work/pin/step-0000004" "$overlap" <<'PY' || fail "task-pinned state across replicas"
import glob, sys, h5py
groups = {t: [int(r) for r in rs.split(",")] for t, rs in (p.split(":") for p in sys.argv[2].split(";"))}
tp, held = 2, {}  # (tp rank, group/name) -> {replica: bytes}
for f in sorted(glob.glob(f"{sys.argv[1]}/rank-*.h5")):
    rank = int(f[-8:-3])
    with h5py.File(f) as h:
        for g in ("param", "adam_m", "adam_v"):
            for name in h[g]:
                held.setdefault((rank % tp, f"{g}/{name}"), {})[rank // tp] = h[g][name][()].tobytes()
for (tpr, key), by_replica in held.items():
    name = key.split("/", 1)[1]
    task = name.split(".")[2] if name.startswith("lora.task.") else None
    want = groups[task] if task else [0, 1]
    assert sorted(by_replica) == want, f"tp rank {tpr} {key}: held by replicas {sorted(by_replica)}, want {want}"
    assert len(set(by_replica.values())) == 1, f"tp rank {tpr} {key}: replicas differ"
print(f"pinning: {len(held)} (tp rank, tensor) pairs, each on exactly its group's replicas, bit-identical")
PY

# 3. elastic across TP sizes: 2 -> 1 -> 2
train_common 2 e1 --tp 2 --data.placement "$single" --max-steps 4 --ckpt-dir "$work/ck"
mkdir -p "$work/re" && cp -r "$work/ck/step-0000004" "$work/re/"
train_common 1 re --data.placement "$single" --resume auto --max-steps 4 --ckpt-dir "$work/re"
grep -q "resumed from .*step-0000004 at step 4 (saved by 2 ranks" "$work/re.log" || { cat "$work/re.log"; fail "no resume at --tp 1"; }
python3 "$here/e2e/lib/same_run.py" ckpt-global "$work/ck/step-0000004" "$work/re/step-0000004" \
  || fail "re-saved state differs after the TP change"
train_common 1 e2 --data.placement "$single" --resume auto --max-steps 8 --ckpt-dir "$work/ck"
same_steps "$work/e2.jsonl" "$work/straight.jsonl" 5 8
train_common 2 e3 --tp 2 --data.placement "$single" --resume auto --ckpt-dir "$work/ck"
grep -q "resumed from .*step-0000008 at step 8 (saved by 1 ranks" "$work/e3.log" || { cat "$work/e3.log"; fail "no resume at --tp 2"; }
same_steps "$work/e3.jsonl" "$work/straight.jsonl" 9 12

echo "OK: train_tp"
