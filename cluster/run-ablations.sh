#!/usr/bin/env bash
# Baselines and ablations of CKF in the main job's pipeline (cluster/run-main.sh): same setup,
# dataset, CF embeddings, training budget (CONFIG, default cluster/configs/main.ini) and evaluation
# samples (the first EVAL_SAMPLES test samples of each task). Each variant's configuration is the
# main job's with exactly one setting changed:
#   cf-mf, cf-lightgcn  the CF embeddings alone (ckf eval --variant cf, MF / LightGCN), no LLM
#   text-lora           [mapper] kind = none: titles-only prompts + Multi-LoRA (TALLRec-like)
#   single-lora         [lora] single = true: one adapter set on q,k,v,o, no task adapters
#   shared-linear       [mapper] kind = shared_linear: one linear mapping for all users (CoLLM-like)
#   ckf                 the main job's configuration
# Outputs per variant in RUN_DIR/NAME (run.ini, train.log, eval.log, eval-test.json, seconds), the
# table printed last and written to RUN_DIR/ablations.md. A failed variant fails the script (the
# others still run; the table is not written).
# Environment as in run-main.sh: CONFIG, RANKS (2), EVAL_SAMPLES (24), CKF_CACHE, RUN_DIR; VARIANTS
# (a space-separated subset); CF_DIM (64), CF_EPOCHS (20). For tests: CKF (a built ckf: no package
# install, no build), DATASET (made by ckf prep: no data setup, no prep), TOKENIZER (CONFIG brings
# its own model, e.g. model.random; ckf eval reads the answer tokens with this tokenizer).
set -euo pipefail
cd "$(dirname "$0")/.."
source cluster/main-setup.sh
RUN_DIR=${RUN_DIR:-$CACHE/runs/ablations}
VARIANTS=${VARIANTS:-cf-mf cf-lightgcn text-lora single-lora shared-linear ckf}
CF_DIM=${CF_DIM:-64}
CF_EPOCHS=${CF_EPOCHS:-20}
start=$SECONDS

[ -n "${CKF:-}" ] || main_build "${CKF_ABLATE_BUILD_DIR:-build-ablate}"
OVERRIDES=()  # the machine's paths, given to every variant
EVAL_TOKENIZER=()
if [ -z "${TOKENIZER:-}" ]; then
  main_model
  OVERRIDES+=("model.path=$GGUF")
else
  EVAL_TOKENIZER=(--tokenizer "$TOKENIZER")
fi
[ -n "${DATASET:-}" ] || main_dataset
mkdir -p "$RUN_DIR"
rm -f "$RUN_DIR/ablations.md"

# CF embeddings (kept across runs: deterministic for the dataset and these settings). MF is the
# main job's (run-main.sh: same options); every LLM variant uses it, LightGCN only its CF row.
for model in mf lightgcn; do
  out="$RUN_DIR/cf-$model-d$CF_DIM-e$CF_EPOCHS.h5"
  if [ ! -f "$out" ]; then
    stamp "cf: $model, dim $CF_DIM, $CF_EPOCHS epochs"
    "$CKF" cf --data "$DATASET" --model "$model" --dim "$CF_DIM" --epochs "$CF_EPOCHS" --threads "$(nproc)" \
      --out "$out.tmp" >"$RUN_DIR/cf-$model.txt"
    mv "$out.tmp" "$out"
  fi
done
CF_MF="$RUN_DIR/cf-mf-d$CF_DIM-e$CF_EPOCHS.h5"
CF_LIGHTGCN="$RUN_DIR/cf-lightgcn-d$CF_DIM-e$CF_EPOCHS.h5"
OVERRIDES+=("data.dir=$DATASET" "data.cf=$CF_MF")

# ini_set IN OUT section.key=value...: IN with each key set in its section (replaced or added).
ini_set() {
  python3 - "$@" <<'PY'
import re, sys
src, dst, sets = sys.argv[1], sys.argv[2], sys.argv[3:]
lines = open(src).read().splitlines()
for s in sets:
    name, value = s.split("=", 1)
    section, key = name.split(".", 1)
    cur, head, at = None, None, None
    for i, line in enumerate(lines):
        m = re.match(r"\s*\[(.+)\]\s*$", line)
        if m:
            cur = m.group(1).strip()
            if cur == section and head is None: head = i
        elif cur == section and re.match(rf"\s*{re.escape(key)}\s*=", line):
            at = i
    if at is not None: lines[at] = f"{key} = {value}"
    elif head is not None: lines.insert(head + 1, f"{key} = {value}")
    else: lines += ["", f"[{section}]", f"{key} = {value}"]
open(dst, "w").write("\n".join(lines) + "\n")
PY
}

# run_variant NAME EVAL_VARIANT [section.key=value...]: train (unless cf) and evaluate one variant.
run_variant() {
  local name=$1 variant=$2 dir="$RUN_DIR/$1"
  shift 2
  rm -rf "$dir" && mkdir -p "$dir" || return 1
  ini_set "$CONFIG" "$dir/run.ini" "${OVERRIDES[@]}" "$@" || return 1
  local t0=$SECONDS train_s=0
  if [ "$variant" != cf ]; then
    stamp "$name: train ($RANKS ranks${*:+; $*})"
    "${MPIRUN[@]}" "$CKF" train --config "$dir/run.ini" --ckpt-dir "$dir/ckpt" --metrics "$dir/metrics.jsonl" \
      >"$dir/train.log" 2>&1 || { tail -n 20 "$dir/train.log"; return 1; }
    tail -n 2 "$dir/train.log"
    train_s=$((SECONDS - t0))
  fi
  stamp "$name: eval (--variant $variant, first $EVAL_SAMPLES test samples per task)"
  local t1=$SECONDS ev=("$CKF" eval --config "$dir/run.ini" --split test --max-samples "$EVAL_SAMPLES" --variant "$variant"
                         --out "$dir/eval-test.json")
  if [ "$variant" = cf ]; then
    "${ev[@]}" >"$dir/eval.log" 2>&1 || { cat "$dir/eval.log"; return 1; }
  else
    "${MPIRUN[@]}" "${ev[@]}" --ckpt "$dir/ckpt" --topk-batched "${EVAL_TOKENIZER[@]}" >"$dir/eval.log" 2>&1 \
      || { tail -n 20 "$dir/eval.log"; return 1; }
  fi
  cat "$dir/eval.log"
  echo "$train_s $((SECONDS - t1))" >"$dir/seconds"
}

failed=()
for v in $VARIANTS; do
  case $v in
    cf-mf) args=(cf) ;;
    cf-lightgcn) args=(cf "data.cf=$CF_LIGHTGCN") ;;
    text-lora) args=(text mapper.kind=none) ;;
    single-lora) args=(soft lora.single=true) ;;
    shared-linear) args=(soft mapper.kind=shared_linear) ;;
    ckf) args=(soft) ;;
    *) echo "VARIANTS: unknown variant '$v'" >&2; exit 2 ;;
  esac
  run_variant "$v" "${args[@]}" || { echo "FAILED: variant $v (logs in $RUN_DIR/$v)" >&2; failed+=("$v"); }
done

stamp "results (whole script $((SECONDS - start)) s)"
python3 cluster/ablation-table.py --run-dir "$RUN_DIR" --config "$CONFIG" --ranks "$RANKS" $VARIANTS \
  >"$RUN_DIR/ablations.md.tmp" || { rm -f "$RUN_DIR/ablations.md.tmp"; exit 1; }
mv "$RUN_DIR/ablations.md.tmp" "$RUN_DIR/ablations.md"
cat "$RUN_DIR/ablations.md"
[ ${#failed[@]} -eq 0 ] || { echo "FAILED variants: ${failed[*]}" >&2; exit 1; }
