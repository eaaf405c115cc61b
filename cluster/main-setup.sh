# Sourced (from the repository root) by run-main.sh and run-ablations.sh: the main job's settings
# and setup steps, so both run the same CPU build of ckf on the same prepared dataset.
# Environment: CONFIG (default cluster/configs/main.ini), RANKS (2), EVAL_SAMPLES (per task, 24),
# CKF_CACHE (default ~/.cache/ckf).
CONFIG=${CONFIG:-cluster/configs/main.ini}
RANKS=${RANKS:-2}
EVAL_SAMPLES=${EVAL_SAMPLES:-24}
CACHE=${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
MPIRUN=(mpirun -np "$RANKS" --oversubscribe)
stamp() { echo "== $(date +%H:%M:%S) $*"; }

# main_build BUILD_DIR: system packages, then ckf built in BUILD_DIR; sets CKF.
main_build() {
  stamp "setup: system packages"
  bash cluster/install-deps.sh
  stamp "build ($1; the CPU backend is what these jobs run, so CUDA objects are skipped)"
  cmake -S . -B "$1" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCKF_CUDA=OFF >/dev/null
  cmake --build "$1" --parallel "$(nproc)" --target ckf
  CKF="$(pwd)/$1/launch/ckf"
}

# main_model: the embedded model in the cache; sets GGUF.
main_model() {
  stamp "setup: model"
  GGUF=$(bash cluster/setup-model.sh)
}

# main_dataset: MovieLens latest-small in the cache and, once, its prep with GGUF's tokenizer; sets
# DATASET. Needs CKF and GGUF.
main_dataset() {
  stamp "setup: data"
  bash cluster/setup-data.sh
  DATASET="$CACHE/datasets/movielens-small-smollm2"
  if [ ! -f "$DATASET/catalog.h5" ]; then
    stamp "prep: MovieLens latest-small, prompts tokenized with the model's tokenizer"
    "$CKF" prep --source movielens-latest --input "$CACHE/data/movielens-small" --out "$DATASET" --model "$GGUF" \
      --history-len 5 --topk-candidates 20 --threads "$(nproc)" --seed 1
  fi
}
