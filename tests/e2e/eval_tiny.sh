#!/usr/bin/env bash
# `ckf eval` end to end with a tiny random decoder: ckf prep --model (tokenized prompts) and ckf cf
# on a synthetic MovieLens export, a short ckf train with a checkpoint, then ckf eval of that checkpoint
# on 1, 2 and 4 ranks. Checks: the JSON reports are byte-identical across rank counts, every task
# has all/warm/cold groups whose sample counts add up, the metrics are in range, --max-samples
# caps each task, another checkpoint gives other metrics, the text variant runs, and bad options are refused with a message naming them.
source "$(dirname "$0")/lib/common.sh"

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

tiny_config ctr,rating,sequential,topk 4,4,2,2 > "$work/train.ini"
mpi 2 "$ckf" train --config "$work/train.ini" --steps 6 --ckpt-every 3 --ckpt-dir "$work/ck" > "$work/train.log" 2>&1 \
  || { cat "$work/train.log"; fail "train"; }
[ -f "$work/ck/step-0000006/COMPLETE" ] || fail "no checkpoint"

base=(eval --config "$work/train.ini" --tokenizer "$here/data/tokenizer/prompt_tokenizer.json" --max-samples 24 --batch 5)
ev=("${base[@]}" --ckpt "$work/ck" --split test)
for np in 1 2 4; do
  mpi $np "$ckf" "${ev[@]}" --out "$work/np$np.json" > "$work/eval$np.log" 2>&1 || { cat "$work/eval$np.log"; fail "eval np $np"; }
done
cmp "$work/np1.json" "$work/np2.json" || fail "1 and 2 ranks differ"
cmp "$work/np1.json" "$work/np4.json" || fail "1 and 4 ranks differ"
python3 - "$work/np1.json" <<'PY' || fail "report content"
import json, math, sys
r = json.load(open(sys.argv[1]))
assert r["split"] == "test" and r["variant"] == "soft" and r["max_samples"] == 24, r
want = {"ctr": ["auc", "uauc"], "rating": ["rmse", "mae"], "sequential": ["hr@1", "hr@5", "ndcg@5"], "topk": ["hr@10", "ndcg@10"]}
assert set(r["tasks"]) == set(want), r["tasks"].keys()
for task, metrics in want.items():
    g = r["tasks"][task]
    assert 0 < g["all"]["samples"] <= 24 and g["warm"]["samples"] + g["cold"]["samples"] == g["all"]["samples"], (task, g)
    for m in metrics:
        v = g["all"][m]
        assert v is not None and math.isfinite(v), (task, m, v)
        assert 0 <= v <= (4 if task == "rating" else 1), (task, m, v)
print({t: (r["tasks"][t]["warm"]["samples"], r["tasks"][t]["cold"]["samples"]) for t in want})
print({t: {m: round(r["tasks"][t]["all"][m], 4) for m in want[t]} for t in want})
PY
# A step directory is evaluated as given, and the loaded parameters matter: step 3 != step 6.
mpi 2 "$ckf" "${base[@]}" --ckpt "$work/ck/step-0000003" --split test --out "$work/s3.json" > "$work/s3.log" 2>&1 \
  || { cat "$work/s3.log"; fail "eval of step 3"; }
grep -q step-0000003 "$work/s3.json" || fail "step-3 report does not name its checkpoint"
python3 - "$work/np1.json" "$work/s3.json" <<'PY' || fail "step 3 and step 6 give the same metrics"
import json, sys
a, b = (json.load(open(f))["tasks"] for f in sys.argv[1:])
assert a != b
PY
mpi 2 "$ckf" "${ev[@]}" --variant text --out "$work/text.json" > "$work/text.log" 2>&1 || { cat "$work/text.log"; fail "text variant"; }
python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['variant']=='text'" "$work/text.json" || fail "text report"

out=$("$ckf" "${base[@]}" --ckpt "$work/ck" --split train --out "$work/x.json" 2>&1) && fail "--split train accepted"
grep -q -- "--split 'train'" <<<"$out" || fail "bad --split message: $out"
out=$("$ckf" "${base[@]}" --ckpt "$work/none" --split test --out "$work/x.json" 2>&1) && fail "missing checkpoint accepted"
grep -q "no intact checkpoint" <<<"$out" || fail "missing checkpoint message: $out"
[ ! -e "$work/x.json" ] || fail "a failed eval wrote its output"
echo "eval_tiny: OK"
