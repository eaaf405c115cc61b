#!/usr/bin/env bash
# The main job on the embedded default: set up (packages, model, data), build, then
#   ckf prep (MovieLens latest-small -> dataset with tokenized prompts)
#   ckf cf   (MF embeddings and the CF-only baseline metrics)
#   mpirun -np 2 ckf train (CKF: mapper + Multi-LoRA, four tasks pinned over two replicas)
#   mpirun -np 2 ckf eval  (deterministic metrics on the test split)
# and prints the metrics table last. Environment: CONFIG (default cluster/configs/main.ini),
# RANKS (2), EVAL_SAMPLES (per task, default 24), CKF_CACHE (default ~/.cache/ckf), RUN_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source cluster/main-setup.sh
RUN_DIR=${RUN_DIR:-$CACHE/runs/main}

main_build "${CKF_MAIN_BUILD_DIR:-build-main}"
main_model
main_dataset
mkdir -p "$RUN_DIR"

CF="$RUN_DIR/cf-mf.h5"
stamp "cf: MF (BPR) embeddings, dim 64, and the CF-only baselines"
"$CKF" cf --data "$DATASET" --model mf --dim 64 --epochs 20 --threads "$(nproc)" --out "$CF" | tee "$RUN_DIR/cf.txt"

# The run's configuration: the chosen one plus this machine's paths (ckf eval reads the same file).
RUN_INI="$RUN_DIR/run.ini"
{ cat "$CONFIG"; printf '\n[model]\npath = %s\n[data]\ndir = %s\ncf = %s\n' "$GGUF" "$DATASET" "$CF"; } >"$RUN_INI"

stamp "train: $RANKS ranks, $CONFIG"
rm -rf "$RUN_DIR/ckpt"
"${MPIRUN[@]}" "$CKF" train --config "$RUN_INI" --ckpt-dir "$RUN_DIR/ckpt" --metrics "$RUN_DIR/metrics.jsonl"

stamp "eval: test split, first $EVAL_SAMPLES samples of each task"
"${MPIRUN[@]}" "$CKF" eval --config "$RUN_INI" --ckpt "$RUN_DIR/ckpt" --split test --max-samples "$EVAL_SAMPLES" --topk-batched --out "$RUN_DIR/eval-test.json"

stamp "results"
python3 - "$RUN_DIR/eval-test.json" "$RUN_DIR/cf.txt" <<'PY'
import json, sys
print("CF-only baseline (ckf cf, MF; all valid and test samples; k = 10):")
print("\n".join(l for l in open(sys.argv[2]).read().splitlines() if l.split()[:1] in (["split"], ["valid"], ["test"])))
report = json.load(open(sys.argv[1]))
print(f"\nCKF ({report['checkpoint']}, {report['split']} split, first {report['max_samples']} samples per task, all users):")
for task, groups in report["tasks"].items():
    metrics = "  ".join(f"{k} {v:.4f}" for k, v in groups["all"].items() if k != "samples" and v is not None)
    print(f"  {task:11s} {groups['all']['samples']:5d} samples  {metrics}")
PY
