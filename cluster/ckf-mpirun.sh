#!/usr/bin/env bash
# Starts ckf under OpenMPI's mpirun with one rank per GPU (or --np ranks on CPU-only machines),
# on this node or on the hosts of a hostfile. Everything after `--` goes to ckf.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: ckf-mpirun.sh [options] -- <ckf command> [ckf options]

Ranks: one per GPU of this node (counted with `ckf devices`, else `nvidia-smi -L`); on a machine
without GPUs --np ranks, default nproc. With a hostfile, --np is required unless every host
line has slots=N (mpirun then fills the slots).

options:
  --np N              number of ranks (overrides the GPU count)
  --ckf PATH          the ckf binary (default: $CKF_BIN, then ./build/launch/ckf, then ckf in PATH)
  -H, --host LIST     host list, passed to mpirun (e.g. node1:8,node2:8)
  --hostfile FILE     hostfile, passed to mpirun
  --threads N         OMP/OPENBLAS threads per rank (default: cores / local ranks, at least 1)
  --dry-run           print the mpirun command instead of running it
  -h, --help          this text
  any other option before `--` is passed to mpirun unchanged (e.g. --mca btl tcp,self).

Defaults chosen here: --bind-to core when ranks x threads fit the cores of a CPU-only node (each
rank keeps its BLAS threads on its own cores); --bind-to none with GPUs (a GPU rank's threads are
launch and communication threads that should not share one core) or when ranks x threads exceed
the cores; --oversubscribe only when ranks per node exceed its cores (nodes assumed alike);
OMPI_ALLOW_RUN_AS_ROOT* when run as root. CUDA_VISIBLE_DEVICES is not set: ckf picks its GPU from
the local rank.

examples:
  # every GPU of this node, tensor parallel 8
  cluster/ckf-mpirun.sh -- train --config run.ini --tp 8
  # CPU-only, 4 ranks
  cluster/ckf-mpirun.sh --np 4 -- train --config tiny.ini --tp 2
  # two 8-GPU nodes
  cluster/ckf-mpirun.sh --hostfile hosts.txt --np 16 -- train --config run.ini --tp 8
  cluster/ckf-mpirun.sh -H node1:8,node2:8 --np 16 -- train --config run.ini --tp 8
EOF
}

np="" ckf="${CKF_BIN:-}" hosts="" hostfile="" threads="" dry_run=0
mpirun_extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --np|-np|-n) np=${2:?--np needs a value}; shift 2 ;;
    --ckf) ckf=${2:?--ckf needs a path}; shift 2 ;;
    -H|--host) hosts=${2:?$1 needs a host list}; shift 2 ;;
    --hostfile) hostfile=${2:?--hostfile needs a file}; shift 2 ;;
    --threads) threads=${2:?--threads needs a value}; shift 2 ;;
    --dry-run) dry_run=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --) shift; break ;;
    *) mpirun_extra+=("$1"); shift ;;
  esac
done
if [ $# -eq 0 ]; then
  echo "ckf-mpirun.sh: nothing to run: put the ckf command after --" >&2
  usage >&2
  exit 2
fi
for v in "$np" "$threads"; do
  if [ -n "$v" ] && ! [[ "$v" =~ ^[1-9][0-9]*$ ]]; then
    echo "ckf-mpirun.sh: '$v' is not a positive count (--np / --threads)" >&2; exit 2
  fi
done
if [ -n "$hostfile" ] && [ ! -r "$hostfile" ]; then
  echo "ckf-mpirun.sh: cannot read hostfile '$hostfile'" >&2; exit 2
fi

if [ -z "$ckf" ]; then
  here=$(cd "$(dirname "$0")/.." && pwd)
  if [ -x "$here/build/launch/ckf" ]; then ckf="$here/build/launch/ckf"
  elif command -v ckf >/dev/null; then ckf=$(command -v ckf)
  else echo "ckf-mpirun.sh: no ckf binary: pass --ckf PATH or set CKF_BIN" >&2; exit 2
  fi
fi
[ -x "$ckf" ] || { echo "ckf-mpirun.sh: '$ckf' is not executable" >&2; exit 2; }

# GPUs on this node: ckf's own view first (same CUDA runtime ckf will use), nvidia-smi otherwise.
count_gpus() {
  local n
  n=$("$ckf" devices 2>/dev/null | grep -c '^GPU [0-9]*:' || true)
  if [ "${n:-0}" -eq 0 ] && command -v nvidia-smi >/dev/null; then
    n=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU ' || true)
  fi
  echo "${n:-0}"
}

cores=$(nproc)
gpus=$(count_gpus)
multi_host=0
if [ -n "$hosts" ] || [ -n "$hostfile" ]; then multi_host=1; fi
if [ -z "$np" ]; then
  if [ "$multi_host" -eq 1 ]; then
    np=""  # mpirun takes the slots from the host list
  elif [ "$gpus" -gt 0 ]; then
    np=$gpus
  else
    np=$cores
  fi
fi

# Ranks on this node decide threads and oversubscription; on several hosts assume the same
# split everywhere (homogeneous nodes), as mpirun does by default with its slot counts.
local_ranks=${np:-$cores}
if [ "$multi_host" -eq 0 ] && [ "$gpus" -gt 0 ] && [ "$local_ranks" -gt "$gpus" ]; then
  echo "ckf-mpirun.sh: warning: $local_ranks ranks for $gpus GPUs: ranks will share GPUs" >&2
fi
per_node=$local_ranks
if [ "$multi_host" -eq 1 ]; then
  if [ -n "$hosts" ]; then n_hosts=$(tr ',' '\n' <<<"$hosts" | grep -c .)
  else n_hosts=$(grep -cEv '^[[:space:]]*(#|$)' "$hostfile" || true)
  fi
  [ "$n_hosts" -ge 1 ] || n_hosts=1
  if [ "$gpus" -gt 0 ]; then per_node=$gpus; else per_node=$(( (local_ranks + n_hosts - 1) / n_hosts )); fi
fi
if [ "$per_node" -le 0 ]; then per_node=1; fi
if [ -z "$threads" ]; then
  threads=$(( cores / per_node ))
  if [ "$threads" -lt 1 ]; then threads=1; fi
fi

cmd=(mpirun)
if [ -n "$np" ]; then cmd+=(-np "$np"); fi
if [ -n "$hosts" ]; then cmd+=(-H "$hosts"); fi
if [ -n "$hostfile" ]; then cmd+=(--hostfile "$hostfile"); fi
if [ "$per_node" -gt "$cores" ]; then
  cmd+=(--oversubscribe --bind-to none)
elif [ "$gpus" -gt 0 ] || [ $(( per_node * threads )) -gt "$cores" ]; then
  cmd+=(--bind-to none)
else
  cmd+=(--bind-to core --map-by "slot:PE=$threads")
fi
cmd+=(-x "OMP_NUM_THREADS=$threads" -x "OPENBLAS_NUM_THREADS=$threads")
# Forward the BLAS kernel choice so remote ranks do not each re-exec to find it.
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then cmd+=(-x OPENBLAS_CORETYPE); fi
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
cmd+=("${mpirun_extra[@]}" "$ckf" "$@")

if [ "$dry_run" -eq 1 ]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"
