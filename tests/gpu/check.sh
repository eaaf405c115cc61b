#!/usr/bin/env bash
# One-call check of the CUDA backend on a machine with an NVIDIA GPU (sized for a lent H200 and a
# window of well under 8 minutes): configure and build (Release, CUDA on, one architecture), run every
# CUDA unit test (tests/unit/cuda_*_test.cpp, each comparing a CUDA op or the device training step
# with its CPU twin), then the GPU benchmarks: tests/bench/cuda_kernels_bench.cpp (kernels) and, for
# the embedded model's shape (smollm2-135m) and LLaMA-3.2-1B's (llama-1b), a Multi-LoRA training step
# of ckf (cuda_llama_step_bench, batch chosen to fill the GPU) side by side with PyTorch + PEFT
# (tests/bench/peft_gpu_bench.py, same shape, adapters and batch). When the peer does not fit that
# batch it halves it, and ckf runs again at the peer's batch so one row compares equal batches.
# A table with the ratios comes last.
# Usage: tests/gpu/check.sh [build_dir]   (default: build-gpu in the repository root)
# Environment: CUDA_ARCH (default 90), OUT (where logs go; default build_dir/logs), PYTHON (the
# peer's interpreter, default python3), CHECK_BUDGET_S (default 420: benchmarks are cut short or
# skipped so that the whole check ends within it).
# Exit status: 0 all passed, 1 build, test or ckf benchmark failure, 2 no usable GPU (after a
# successful build). A missing or failing PyTorch peer is reported in the table, not as a failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build-gpu}
logs=${OUT:-$build/logs}
mkdir -p "$logs"
t0=$SECONDS
elapsed() { echo "$((SECONDS - t0))s"; }
say() { echo "== [$(elapsed)] $*"; }

generator=()
command -v ninja > /dev/null && generator=(-G Ninja)
say "configure ($build, sm_${CUDA_ARCH:-90}, logs in $logs)"
if ! cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DCKF_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCH:-90}" > "$logs/configure.log" 2>&1; then
  tail -30 "$logs/configure.log"
  exit 1
fi

tests=()
# cuda_emu_test is the CUDA emulator's own test: it only skips on a real GPU (a skip counts as a failure here).
for src in "$root"/tests/unit/cuda_*_test.cpp; do
  [ "$(basename "$src")" = cuda_emu_test.cpp ] || tests+=("$(basename "$src" .cpp)")
done
say "build ${tests[*]} cuda_kernels_bench cuda_llama_step_bench"
if ! cmake --build "$build" --target "${tests[@]}" cuda_kernels_bench cuda_llama_step_bench -j "$(nproc)" > "$logs/build.log" 2>&1; then
  grep -m 20 -E "error|Error" "$logs/build.log"
  tail -20 "$logs/build.log"
  exit 1
fi

bench="$build/tests/bench/cuda_kernels_bench"
say "probe"
if ! "$bench" --probe 2>&1 | tee "$logs/probe.log"; then
  echo "NO GPU: the build is fine, but no GPU is usable here ($(tail -1 "$logs/probe.log"))"
  exit 2
fi

status=0
summary=()
for t in "${tests[@]}"; do
  say "test $t"
  timeout 180 "$build/tests/$t" > "$logs/$t.log" 2>&1
  rc=$?
  # Per-test result lines end in "(N ms)"; gtest's closing lists repeat the names without it.
  passed=$(grep -cE '^\[       OK \] .* \([0-9]+ ms\)$' "$logs/$t.log")
  failed=$(grep -cE '^\[  FAILED  \] .* \([0-9]+ ms\)$' "$logs/$t.log")
  skipped=$(grep -cE '^\[  SKIPPED \] .* \([0-9]+ ms\)$' "$logs/$t.log")
  # On a GPU machine a skipped CUDA test means the GPU was not usable after all: count it as failed.
  if [ $rc -ne 0 ] || [ "$skipped" -ne 0 ]; then
    status=1
    grep -E -A3 'Failure|Skipped|what\(\)' "$logs/$t.log" | head -30
  fi
  summary+=("$(printf '%-28s rc=%-3s passed=%-3s failed=%-3s skipped=%s' "$t" "$rc" "$passed" "$failed" "$skipped")")
done

budget=${CHECK_BUDGET_S:-420}
# timed SECONDS CMD...: CMD under a timeout of SECONDS, shortened to what the budget leaves (20 s kept
# for the summary); returns 124 without running CMD when under 20 s are left.
timed() {
  local want=$1 left=$((budget - (SECONDS - t0) - 20))
  shift
  if [ $left -lt 20 ]; then
    echo "skipped: the ${budget}s budget is spent"
    return 124
  fi
  timeout $((want < left ? want : left)) "$@"
}
# field LINE KEY: the value of KEY=value in a result line.
field() { tr ' ' '\n' <<< "$1" | sed -n "s/^$2=//p"; }
# result LINE: true for a benchmark's result line without an error.
result() { [[ $1 == step* ]] && [ -z "$(field "$1" error)" ]; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else printf "-" }'; }

say "kernel benchmark"
if ! timed 120 "$bench" > "$logs/bench.log" 2>&1; then
  status=1
  echo "kernel benchmark failed:"
  tail -20 "$logs/bench.log"
fi

step_bench="$build/tests/bench/cuda_llama_step_bench"
peer="$root/tests/bench/peft_gpu_bench.py"
rows=()
# row CONFIG CKF_LINE PEER_LINE_OR_NOTE: one table row.
row() {
  local c=$2 p=$3 pt pm pf
  if result "$p"; then
    pt=$(field "$p" tokens_per_s) pm=$(field "$p" peak_mib) pf=$(field "$p" mfu)
  else
    pt=${p:-"-"} pm="-" pf="-"
    [[ $p == step* ]] && pt=$(field "$p" error | sed 's/^missing_package:/no python /')
  fi
  rows+=("$(printf '%-13s %-9s %12s %12s %6s %9s %9s %6s %7s %7s' "$1" "$(field "$c" B)x$(field "$c" T)" \
    "$(field "$c" tokens_per_s)" "$pt" "$(ratio "$(field "$c" tokens_per_s)" "$pt")" "$(field "$c" peak_mib)" "$pm" \
    "$(ratio "$(field "$c" peak_mib)" "$pm")" "$(field "$c" mfu)" "$pf")")
}
for cfg in smollm2-135m llama-1b; do
  say "training-step benchmark $cfg: ckf"
  if ! timed 150 "$step_bench" --config "$cfg" > "$logs/step_ckf_$cfg.log" 2>&1; then
    status=1
    echo "ckf training-step benchmark $cfg failed:"
    tail -20 "$logs/step_ckf_$cfg.log"
    rows+=("$(printf '%-13s ckf: %s' "$cfg" "$(tail -1 "$logs/step_ckf_$cfg.log" | cut -c1-100)")")
    continue
  fi
  ckf=$(grep '^step ' "$logs/step_ckf_$cfg.log")
  B=$(field "$ckf" B) T=$(field "$ckf" T)
  say "training-step benchmark $cfg: PyTorch + PEFT at B=$B T=$T"
  timed 180 "${PYTHON:-python3}" "$peer" --config "$cfg" --B "$B" --T "$T" > "$logs/step_peft_$cfg.log" 2>&1
  rc=$?
  peft=$(grep '^step ' "$logs/step_peft_$cfg.log" | tail -1)
  if [ -z "$peft" ]; then
    echo "PyTorch + PEFT peer $cfg gave no result (rc $rc):"
    tail -5 "$logs/step_peft_$cfg.log"
    peft="failed rc=$rc"
    [ $rc -eq 124 ] && peft="timed out"
  fi
  pB=$(field "$peft" B)
  if result "$peft" && [ "$pB" != "$B" ]; then
    row "$cfg" "$ckf" "OOM"
    say "training-step benchmark $cfg: ckf at the peer's B=$pB"
    if timed 150 "$step_bench" --config "$cfg" --B "$pB" --T "$T" > "$logs/step_ckf_${cfg}_B$pB.log" 2>&1; then
      ckf=$(grep '^step ' "$logs/step_ckf_${cfg}_B$pB.log")
    else
      status=1
      echo "ckf training-step benchmark $cfg at B=$pB failed:"
      tail -20 "$logs/step_ckf_${cfg}_B$pB.log"
      rows+=("$(printf '%-13s ckf at B=%s: %s' "$cfg" "$pB" "$(tail -1 "$logs/step_ckf_${cfg}_B$pB.log" | cut -c1-90)")")
      continue
    fi
  fi
  if result "$peft"; then  # same adapters, and the same FLOP formula at the same batch
    for k in lora_params flops_per_step; do
      [ "$(field "$peft" $k)" = "$(field "$ckf" $k)" ] ||
        echo "WARNING $cfg: $k differ: ckf $(field "$ckf" $k), peft $(field "$peft" $k)"
    done
  fi
  row "$cfg" "$ckf" "$peft"
done

echo
echo "== summary ($(elapsed), logs in $logs)"
printf '%s\n' "${summary[@]}"
sed -n '/^kernel /,$p' "$logs/bench.log"
echo
echo "training step: Multi-LoRA fwd + bwd + AdamW, bf16 (tok/s: tokens per second; MiB: peak device memory,"
echo "ckf's in use, PyTorch's max_memory_allocated; MFU against each one's measured bf16 GEMM peak)"
printf '%-13s %-9s %12s %12s %6s %9s %9s %6s %7s %7s\n' config BxT "ckf tok/s" "peft tok/s" ratio "ckf MiB" \
  "peft MiB" ratio "ckf MFU" "peftMFU"
printf '%s\n' "${rows[@]}"
exit $status
