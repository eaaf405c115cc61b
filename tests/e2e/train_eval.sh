#!/usr/bin/env bash
# `ckf train --eval-every` end to end (tiny random decoder on the synthetic MovieLens dataset of
# lib/tiny_dataset.sh, 2 ranks, tasks pinned: ctr and topk on both replicas, rating on replica 0,
# sequential on replica 1, so a task's valid samples are split over its replicas or not). Checks:
#  1. the eval records sit at steps 3 and 6, hold every task with all/warm/cold groups, sample counts
#     (all = the first --eval-samples or fewer where the split has fewer, warm + cold = all) and the
#     task's metrics in range;
#  2. each equals `ckf eval --split valid --max-samples K --topk-batched` of that step's checkpoint,
#     value for value (the same deterministic scoring, blocks and batches);
#  3. training is untouched: the step records and the final parameters and AdamW moments equal a
#     run without --eval-every bit for bit, and a run stopped at step 4 and resumed evaluates at the
#     same steps with the same numbers;
#  4. at --tp 2 (2 ranks, one replica) every tp rank runs the same forwards (no hang), the records
#     hold every task, and they match `ckf eval` of that run's checkpoint within 1e-4 (tp changes
#     the summation order only).
source "$(dirname "$0")/lib/common.sh"
source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

tok="$here/data/tokenizer/prompt_tokenizer.json"
K=10
tiny_config ctr,rating,sequential,topk 4,4,2,2 > "$work/train.ini"
run=(train --config "$work/train.ini" --steps 6 --ckpt-every 3 --keep-last 5)
evals=(--eval-every 3 --eval-samples "$K" --eval-tokenizer "$tok")
pinned="ctr:0,1;rating:0;sequential:1;topk:0,1"
train() {  # train NP NAME ARGS...: metrics in $work/NAME.jsonl, checkpoints in $work/NAME, log in $work/NAME.log
  local np=$1 name=$2; shift 2
  mpi "$np" "$ckf" "${run[@]}" --metrics "$work/$name.jsonl" --ckpt-dir "$work/$name" "$@" > "$work/$name.log" 2>&1 \
    || { cat "$work/$name.log"; fail "train $name"; }
}
ckf_eval() {  # ckf_eval CKPT OUT: ckf eval of the valid split as the trainer scores it
  mpi 2 "$ckf" eval --config "$work/train.ini" --tokenizer "$tok" --ckpt "$1" --split valid --max-samples "$K" \
    --topk-batched --out "$2" > "$2.log" 2>&1 || { cat "$2.log"; fail "ckf eval $1"; }
}
# same_evals RUN TOL: RUN's eval records at steps 3 and 6 against ckf eval of RUN's checkpoints of those steps.
same_evals() {
  ckf_eval "$work/$1/step-0000003" "$work/$1-e3.json"
  ckf_eval "$work/$1/step-0000006" "$work/$1-e6.json"
  python3 - "$work/$1.jsonl" "$work/$1-e3.json" "$work/$1-e6.json" "$2" "$K" <<'PY' || fail "$1: eval records"
import json, math, sys
path, e3, e6, tol, k = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]), int(sys.argv[5])
evals = [r for r in map(json.loads, open(path)) if "eval" in r]
assert [r["step"] for r in evals] == [3, 6], [r["step"] for r in evals]
want = {"ctr": ["auc", "uauc"], "rating": ["rmse", "mae"], "sequential": ["hr@1", "hr@5", "ndcg@5"], "topk": ["hr@10", "ndcg@10"]}
for r in evals:
    assert list(r["eval"]) == list(want), list(r["eval"])
    for task, metrics in want.items():
        g = r["eval"][task]
        assert list(g) == ["all", "warm", "cold"], (task, list(g))
        n = g["all"]["samples"]  # topk has fewer valid samples than k; ctr fills 2 blocks, one per replica
        assert 0 < n <= k and (n == k or task == "topk") and g["warm"]["samples"] + g["cold"]["samples"] == n, (task, g)
        assert list(g["all"]) == ["samples"] + metrics, (task, list(g["all"]))
        for m in metrics:
            v = g["all"][m]
            assert v is not None and 0 <= v <= (4 if task == "rating" else 1), (task, m, v)
for r, report in zip(evals, (e3, e6)):
    ref = json.load(open(report))["tasks"]
    if tol == 0:
        assert r["eval"] == ref, f"step {r['step']}:\n{r['eval']}\n{ref}"
        continue
    for task, groups in ref.items():
        for group, values in groups.items():
            for m, v in values.items():
                x = r["eval"][task][group][m]
                assert (x is None) == (v is None) and (v is None or abs(x - v) <= tol), (r["step"], task, group, m, x, v)
print(f"{path}: evals at steps 3, 6 match ckf eval (tolerance {tol}):", {t: r["eval"][t]["all"] for t in want})
PY
}

# 1, 2. Evaluation records, and their values against ckf eval.
train 2 ev "${evals[@]}" --data.placement "$pinned"
grep -q "^eval step 6: *ctr auc" "$work/ev.log" || { cat "$work/ev.log"; fail "no eval line at step 6"; }
same_evals ev 0

# 3. The trajectory is untouched, and a resumed run evaluates at the same steps.
train 2 plain --data.placement "$pinned"
grep -v '"eval"' "$work/ev.jsonl" > "$work/ev-steps.jsonl"
python3 "$here/e2e/lib/same_run.py" metrics "$work/ev-steps.jsonl" "$work/plain.jsonl" 6 || fail "--eval-every changed the losses"
python3 "$here/e2e/lib/same_run.py" ckpt "$work/ev/step-0000006" "$work/plain/step-0000006" \
  || fail "--eval-every changed the parameters or moments"
train 2 re "${evals[@]}" --data.placement "$pinned" --max-steps 4
mv "$work/re.log" "$work/re1.log"
train 2 re "${evals[@]}" --data.placement "$pinned" --resume auto
grep -q "resumed from .*step-0000004 at step 4" "$work/re.log" || { cat "$work/re.log"; fail "did not resume at step 4"; }
python3 "$here/e2e/lib/same_run.py" metrics "$work/ev.jsonl" "$work/re.jsonl" 6 || fail "resumed run differs"

# 4. Tensor parallel: 2 tp ranks of one replica.
train 2 tp "${evals[@]}" --tp 2 --data.placement "ctr:0;rating:0;sequential:0;topk:0"
same_evals tp 1e-4

echo "OK: train_eval"
