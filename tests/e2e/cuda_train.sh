#!/usr/bin/env bash
# `ckf train --device cuda` end to end, against the CPU path (the reference) on the tiny random
# decoder and the synthetic dataset of lib/tiny_dataset.sh. Runs where a GPU is usable: on a GPU
# machine, or in the emulated build (CKF_CUDA=EMU) that CI runs; elsewhere it exits 77 (skipped).
#  1. 1 rank: every step's loss and gradient norm within 3% of the CPU run's (the device decoder
#     computes in bf16, the CPU in fp32; over 4 steps at lr 0.01 the runs drift apart only slowly);
#  2. 2 ranks with tasks pinned to different replicas (NCCL gradient sync overlapped with backward):
#     within the same tolerance of the CPU run with the same placement;
#  3. checkpoint and resume on the device: steps 3..4 of a run resumed at step 2 equal the
#     uninterrupted device run (1e-5 relative), and a CPU checkpoint resumes on the device;
#  4. periodic evaluation during the device run reads the device's parameters (eval records appear).
source "$(dirname "$0")/lib/common.sh"

if "$ckf" devices | grep -q "^no GPUs"; then
  echo "SKIP: $("$ckf" devices)"
  exit 77
fi

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

common=(--model.random tiny --model.vocab 400 --data.dir "$work/data" --data.cf "$work/cf.h5"
  --data.tasks ctr,rating,sequential,topk --data.batch 2,2,1,1 --lora.shared-r 4 --lora.task-r 4
  --mapper.meta-hidden 8 --mapper.proj-hidden 16 --data.loss-weights 1,0.5,1,1
  --optim.lr 0.01 --optim.warmup 2 --seed 5 --steps 4 --ckpt-every 2 --keep-last 10)
close() { python3 "$here/e2e/lib/same_run.py" metrics-close "$@" || fail "$1 and $2 differ"; }

single="ctr:0;rating:0;sequential:0;topk:0"
pinned="ctr:0,1;rating:0;sequential:1;topk:0,1"

# 1. one rank
train_common 1 cpu --data.placement "$single" --ckpt-dir "$work/cpu"
train_common 1 dev --data.placement "$single" --ckpt-dir "$work/dev" --device cuda --eval-every 2 --eval-samples 4 \
  --eval-tokenizer "$here/data/tokenizer/prompt_tokenizer.json"
grep -q "^step 4/4" "$work/dev.log" || { cat "$work/dev.log"; fail "no progress line on the device"; }
close "$work/dev.jsonl" "$work/cpu.jsonl" 1 4 0.03
[ "$(grep -c '"eval"' "$work/dev.jsonl")" = 2 ] || { cat "$work/dev.log"; fail "no evaluation records on the device"; }

# 2. two replicas, tasks pinned
train_common 2 cpu2 --data.placement "$pinned"
train_common 2 dev2 --data.placement "$pinned" --device cuda
close "$work/dev2.jsonl" "$work/cpu2.jsonl" 1 4 0.03
python3 - "$work/dev2.jsonl" <<'PY' || fail "no NCCL bytes on the device path"
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert r["bytes_sent"].get("dp", 0) > 0, r["bytes_sent"]
print("device bytes sent per step by group:", r["bytes_sent"])
PY

# 3. resume on the device, from a device and from a CPU checkpoint
mkdir -p "$work/re" && cp -r "$work/dev/step-0000002" "$work/re/"
train_common 1 re --data.placement "$single" --ckpt-dir "$work/re" --device cuda --resume auto
grep -q "resumed from .*step-0000002 at step 2" "$work/re.log" || { cat "$work/re.log"; fail "no device resume"; }
close "$work/re.jsonl" "$work/dev.jsonl" 3 4 1e-5
mkdir -p "$work/x" && cp -r "$work/cpu/step-0000002" "$work/x/"
train_common 1 x --data.placement "$single" --ckpt-dir "$work/x" --device cuda --resume auto
close "$work/x.jsonl" "$work/cpu.jsonl" 3 4 0.03

echo "cuda_train: device training agrees with the CPU path"
