# Sourced by e2e scripts: tiny_dataset writes a synthetic MovieLens-latest export big enough for
# every task (24 users with 5..11 ratings of 40 films: after the leave-one-out holdout 3..9 train
# interactions, so warm and cold users at --cold-max 5), preps it with the fixture tokenizer into
# $work/data and trains CF embeddings into $work/cf.h5; tiny_config prints a training config for it;
# train_common runs `ckf train` with the caller's common arguments.
# Needs $work, $ckf, $here and fail() (lib/common.sh).
tiny_dataset() {
  mkdir -p "$work/raw"
  python3 - "$work/raw" <<'PY'
import sys
d = sys.argv[1]
with open(f"{d}/movies.csv", "w") as f:
    f.write("movieId,title,genres\n")
    for i in range(1, 41):
        f.write(f"{i},Film {i} ({1990 + i}),Drama\n")
with open(f"{d}/ratings.csv", "w") as f:
    f.write("userId,movieId,rating,timestamp\n")
    for u in range(1, 25):
        for k in range(5 + (u * 3) % 7):
            f.write(f"{u},{1 + (u * 5 + k * 3) % 40},{1 + (u + 2 * k) % 5}.0,{1000 * u + k}\n")
PY
  "$ckf" prep --source movielens-latest --input "$work/raw" --out "$work/data" --history-len 4 \
    --seq-candidates 4 --topk-candidates 12 --seed 3 --positive-min 3.5 \
    --model "$here/data/tokenizer/prompt_tokenizer.json" > "$work/prep.log" || { cat "$work/prep.log"; fail "prep"; }
  "$ckf" cf --data "$work/data" --dim 8 --epochs 2 --out "$work/cf.h5" > "$work/cf.log" || { cat "$work/cf.log"; fail "cf"; }
}

# tiny_config TASKS BATCH [ADAPTERS]: the INI of a run of the tiny random decoder (its 400-id
# vocabulary covers the fixture tokenizer) on tiny_dataset's output; ADAPTERS (INI text) replaces
# the default [lora] and [optim] sections.
tiny_config() {
  cat <<INI
seed = 5
[model]
random = tiny
vocab = 400
[data]
dir = $work/data
cf = $work/cf.h5
tasks = $1
batch = $2
[mapper]
meta-hidden = 8
proj-hidden = 16
${3:-[lora]
shared-r = 4
task-r = 4
[optim]
lr = 0.01
warmup = 2}
INI
}

# train_common NP NAME ARGS...: `ckf train` on NP ranks with the caller's ${common[@]} and ARGS;
# metrics in $work/NAME.jsonl, log in $work/NAME.log (printed on failure).
train_common() {
  local np=$1 name=$2; shift 2
  mpi "$np" "$ckf" train "${common[@]}" --metrics "$work/$name.jsonl" "$@" > "$work/$name.log" 2>&1 \
    || { cat "$work/$name.log"; fail "train $name"; }
}
