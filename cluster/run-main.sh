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
ROOT=$(pwd)
CONFIG=${CONFIG:-cluster/configs/main.ini}
RANKS=${RANKS:-2}
EVAL_SAMPLES=${EVAL_SAMPLES:-24}
CACHE=${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}
RUN_DIR=${RUN_DIR:-$CACHE/runs/main}
BUILD_DIR=${CKF_MAIN_BUILD_DIR:-build-main}
stamp() { echo "== $(date +%H:%M:%S) $*"; }

stamp "setup: system packages, model, data"
bash cluster/install-deps.sh
GGUF=$(bash cluster/setup-model.sh)
bash cluster/setup-data.sh
DATA_RAW="$CACHE/data/movielens-small"

stamp "build ($BUILD_DIR; the CPU backend is what this job runs, so CUDA objects are skipped here)"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCKF_CUDA=OFF >/dev/null
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target ckf
CKF="$ROOT/$BUILD_DIR/launch/ckf"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIRUN=(mpirun -np "$RANKS" --oversubscribe)

mkdir -p "$RUN_DIR"
DATASET="$CACHE/datasets/movielens-small-smollm2"
if [ ! -f "$DATASET/catalog.h5" ]; then
  stamp "prep: MovieLens latest-small, prompts tokenized with the model's tokenizer"
  "$CKF" prep --source movielens-latest --input "$DATA_RAW" --out "$DATASET" --model "$GGUF" \
    --history-len 5 --topk-candidates 20 --threads "$(nproc)" --seed 1
fi

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
