#!/usr/bin/env bash
# cluster/run-ablations.sh end to end on the synthetic dataset and a tiny random decoder (4 steps
# per variant): every variant trains and evaluates, the table has one row per variant on the same
# sample counts; each LLM variant's run.ini differs from the base configuration in exactly its one
# setting; the CF-only rows scored through ckf eval --variant cf on all test samples equal what
# ckf cf reports for the same embeddings (same samples, same metrics); a missing variant report
# makes the table step fail naming it.
set -euo pipefail
build=$(cd "$1" && pwd)
ckf="$build/launch/ckf"
here=$(cd "$(dirname "$0")/.." && pwd)
root=$(cd "$here/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

cat > "$work/tiny.ini" <<INI
steps = 4
seed = 5
[model]
random = tiny
vocab = 400
[data]
tasks = ctr,sequential,rating,topk
batch = 2,2,2,2
[lora]
shared-r = 4
task-r = 4
[mapper]
kind = metanet
meta-hidden = 8
proj-hidden = 16
[curriculum]
on = true
[optim]
lr = 0.01
INI
env=(CKF="$ckf" DATASET="$work/data" TOKENIZER="$here/data/tokenizer/prompt_tokenizer.json" CONFIG="$work/tiny.ini"
     RUN_DIR="$work/run" EVAL_SAMPLES=6 CF_DIM=8 CF_EPOCHS=2 RANKS=2)
env "${env[@]}" bash "$root/cluster/run-ablations.sh" > "$work/run.log" 2>&1 || { cat "$work/run.log"; fail "run-ablations"; }

table="$work/run/ablations.md"
[ -f "$table" ] || fail "no table"
for v in cf-mf cf-lightgcn text-lora single-lora shared-linear ckf; do
  grep -q "^| $v |" "$table" || fail "no row for $v: $(cat "$table")"
  grep -q "^| $v |.*| n/a |" "$table" && echo "note: $v has an undefined metric (one class among 6 samples)"
done
grep -q "ctr 6, sequential 6, rating 6, topk 6" "$table" || fail "sample counts: $(head -1 "$table")"
grep -q "samples seen per task: ctr 8, sequential 8, rating 8, topk 8" "$table" || fail "budget: $(head -1 "$table")"
[ "$(tail -n 8 "$work/run.log")" = "$(tail -n 8 "$table")" ] || fail "the table is not printed last"

# Each variant's configuration is the base one with its one setting changed.
cmp "$work/run/ckf/run.ini" "$work/run/cf-mf/run.ini" || fail "cf-mf config differs from ckf's"
d=$(diff "$work/run/ckf/run.ini" "$work/run/text-lora/run.ini" | grep '^[<>]' || true)
[ "$d" = $'< kind = metanet\n> kind = none' ] || fail "text-lora differs in: $d"
d=$(diff "$work/run/ckf/run.ini" "$work/run/shared-linear/run.ini" | grep '^[<>]' || true)
[ "$d" = $'< kind = metanet\n> kind = shared_linear' ] || fail "shared-linear differs in: $d"
d=$(diff "$work/run/ckf/run.ini" "$work/run/single-lora/run.ini" | grep '^[<>]' || true)
[ "$d" = '> single = true' ] || fail "single-lora differs in: $d"

# ckf eval --variant cf on every test sample reproduces ckf cf's test line (AUC UAUC HR@10 NDCG@10 RMSE MAE).
for m in mf lightgcn; do
  "$ckf" eval --config "$work/run/cf-$m/run.ini" --variant cf --split test --out "$work/all-$m.json" > /dev/null \
    || fail "eval --variant cf, all samples ($m)"
  python3 - "$work/all-$m.json" "$work/run/cf-$m.txt" <<'PY' || fail "ckf eval --variant cf and ckf cf disagree ($m)"
import json, sys
r = json.load(open(sys.argv[1]))["tasks"]
line = next(l for l in open(sys.argv[2]) if l.startswith("test "))
want = [float(x) for x in line.split()[1:]]
got = [r["ctr"]["all"]["auc"], r["ctr"]["all"]["uauc"], r["topk"]["all"]["hr@10"], r["topk"]["all"]["ndcg@10"],
       r["rating"]["all"]["rmse"], r["rating"]["all"]["mae"]]
print("ckf cf:", want, " ckf eval --variant cf:", [round(g, 4) for g in got])
assert all(abs(g - w) <= 6e-5 for g, w in zip(got, want)), (got, want)
PY
done

# --variant cf takes no checkpoint, and refuses embeddings trained on other data.
out=$("$ckf" eval --config "$work/run/cf-mf/run.ini" --variant cf --ckpt "$work/run/ckf/ckpt" --out "$work/x.json" 2>&1) \
  && fail "--variant cf accepted --ckpt"
grep -q -- "--variant cf .* takes no --ckpt" <<<"$out" || fail "cf --ckpt message: $out"
"$ckf" cf --synthetic --dim 8 --epochs 1 --out "$work/other.h5" > /dev/null
sed "s|^cf = .*|cf = $work/other.h5|" "$work/run/cf-mf/run.ini" > "$work/other.ini"
out=$("$ckf" eval --config "$work/other.ini" --variant cf --out "$work/x.json" 2>&1) && fail "foreign embeddings accepted"
grep -q "other.h5: embeddings of .*, not of --data.dir" <<<"$out" || fail "foreign embeddings message: $out"
[ ! -e "$work/x.json" ] || fail "a failed eval wrote its output"

# A variant without its report fails the table, naming it.
rm "$work/run/single-lora/eval-test.json"
out=$(python3 "$root/cluster/ablation-table.py" --run-dir "$work/run" --config "$work/tiny.ini" --ranks 2 \
      cf-mf single-lora ckf 2>&1) && fail "table written without single-lora's report"
grep -q "single-lora: no " <<<"$out" || fail "missing-variant message: $out"
echo "run_ablations_tiny: OK"
