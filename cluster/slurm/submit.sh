#!/usr/bin/env bash
# Fills cluster/slurm/ckf.sbatch.in for a ckf training run and submits it; prints the job id.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: submit.sh --config FILE [options] [-- extra ckf train options]

Submits `srun --mpi=pmix ckf train --config FILE --resume auto [extra]` as a requeueable batch job
that is requeued whenever ckf exits with 75 (preempted, checkpoint written). Prints the job id.

options:
  --config FILE          ckf config (INI); required unless --exec is given
  --nodes N              nodes (default 1)
  --gpus-per-node G      GPUs per node, one rank each (default: GPUs of this machine, else 0)
  --tasks-per-node T     ranks per node (default G, or 1 without GPUs)
  --time T               time limit, slurm format (default 01:00:00)
  --partition P          partition (default: the cluster's default)
  --job-name NAME        job name (default ckf); the log is OUTPUT_DIR/NAME-JOBID.out
  --output-dir DIR       where the log goes (default: current directory)
  --ckf PATH             ckf binary as seen on the compute nodes (default: build/launch/ckf here)
  --exec "CMD ARGS"      run this under srun instead of ckf train (tests, other subcommands)
  --script-out FILE      also keep the filled batch script in FILE
  --dry-run              print the filled batch script, submit nothing
  --sbatch-arg ARG       extra argument for sbatch (repeatable)
  -h, --help             this text

examples:
  cluster/slurm/submit.sh --config run.ini --nodes 4 --gpus-per-node 8 --time 12:00:00 \
      --partition gpu --job-name ckf-7b -- --tp 8
  cluster/slurm/submit.sh --config tiny.ini --tasks-per-node 2 --dry-run
EOF
}

here=$(cd "$(dirname "$0")" && pwd)
config="" nodes=1 gpus="" tasks="" time_limit=01:00:00 partition="" job_name=ckf output_dir=$PWD
ckf="" exec_cmd="" script_out="" dry_run=0
sbatch_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --config) config=${2:?--config needs a file}; shift 2 ;;
    --nodes) nodes=${2:?--nodes needs a count}; shift 2 ;;
    --gpus-per-node) gpus=${2:?--gpus-per-node needs a count}; shift 2 ;;
    --tasks-per-node) tasks=${2:?--tasks-per-node needs a count}; shift 2 ;;
    --time) time_limit=${2:?--time needs a value}; shift 2 ;;
    --partition) partition=${2:?--partition needs a name}; shift 2 ;;
    --job-name) job_name=${2:?--job-name needs a name}; shift 2 ;;
    --output-dir) output_dir=${2:?--output-dir needs a directory}; shift 2 ;;
    --ckf) ckf=${2:?--ckf needs a path}; shift 2 ;;
    --exec) exec_cmd=${2:?--exec needs a command}; shift 2 ;;
    --script-out) script_out=${2:?--script-out needs a file}; shift 2 ;;
    --sbatch-arg) sbatch_args+=("${2:?--sbatch-arg needs a value}"); shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) echo "submit.sh: unknown option '$1' (--help lists them)" >&2; exit 2 ;;
  esac
done

fail() { echo "submit.sh: $*" >&2; exit 2; }
if [ -z "$gpus" ]; then
  gpus=0
  if command -v nvidia-smi >/dev/null; then gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true); fi
fi
[ -n "$tasks" ] || tasks=$(( gpus > 0 ? gpus : 1 ))
for pair in "nodes:$nodes:1" "gpus-per-node:$gpus:0" "tasks-per-node:$tasks:1"; do
  IFS=: read -r name value min <<<"$pair"
  [[ "$value" =~ ^[0-9]+$ ]] && [ "$value" -ge "$min" ] || fail "--$name '$value' must be an integer >= $min"
done
[[ "$job_name" =~ ^[A-Za-z0-9._-]+$ ]] || fail "--job-name '$job_name': use letters, digits, . _ -"
mkdir -p "$output_dir"
output_dir=$(cd "$output_dir" && pwd)

if [ -n "$exec_cmd" ]; then
  command_line="$exec_cmd"
else
  [ -n "$config" ] || fail "--config is required (or --exec)"
  [ -r "$config" ] || fail "cannot read config '$config'"
  config=$(cd "$(dirname "$config")" && pwd)/$(basename "$config")
  if [ -z "$ckf" ]; then ckf=$(cd "$here/../.." && pwd)/build/launch/ckf; fi
  command_line=$(printf '%q ' "$ckf" train --config "$config" --resume auto "$@")
  command_line=${command_line% }
fi

gpu_directive="# no GPUs requested"
# --gres gives every rank of a node all its GPUs; --gpus-per-task would hide all but one GPU per
# rank, while ckf chooses its GPU by local rank among the GPUs it sees.
if [ "$gpus" -gt 0 ]; then gpu_directive="#SBATCH --gres=gpu:$gpus"; fi
partition_directive="# default partition"
if [ -n "$partition" ]; then partition_directive="#SBATCH --partition=$partition"; fi

shopt -u patsub_replacement 2>/dev/null || true  # '&' in a value stays '&'
script=$(<"$here/ckf.sbatch.in")
script=${script//@JOB_NAME@/$job_name}
script=${script//@NODES@/$nodes}
script=${script//@TASKS_PER_NODE@/$tasks}
script=${script//@GPU_DIRECTIVE@/$gpu_directive}
script=${script//@TIME@/$time_limit}
script=${script//@PARTITION_DIRECTIVE@/$partition_directive}
script=${script//@OUTPUT_DIR@/$output_dir}
script=${script//@COMMAND@/$command_line}
if [[ "$script" =~ @[A-Z_]+@ ]]; then fail "template placeholder ${BASH_REMATCH[0]} left unfilled"; fi

if [ -n "$script_out" ]; then printf '%s\n' "$script" >"$script_out"; fi
if [ "$dry_run" -eq 1 ]; then printf '%s\n' "$script"; exit 0; fi
job=$(printf '%s\n' "$script" | sbatch --parsable "${sbatch_args[@]}") || fail "sbatch failed"
echo "${job%%;*}"
