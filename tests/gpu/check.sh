#!/usr/bin/env bash
# One-call check of the CUDA backend on a machine with an NVIDIA GPU (sized for a lent H200 and a
# ~10 minute window): configure and build (Release, CUDA on, one architecture), run every CUDA unit
# test (tests/unit/cuda_*_test.cpp, each comparing a CUDA op or the device training step with its
# CPU twin), then the GPU benchmarks tests/bench/cuda_kernels_bench.cpp (kernels) and
# cuda_llama_step_bench.cpp (a training step of the embedded model's shape); a short summary
# table comes last.
# Usage: tests/gpu/check.sh [build_dir]   (default: build-gpu in the repository root)
# Environment: CUDA_ARCH (default 90), OUT (where logs go; default build_dir/logs).
# Exit status: 0 all passed, 1 build or test failure, 2 no usable GPU (after a successful build).
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
for src in "$root"/tests/unit/cuda_*_test.cpp; do tests+=("$(basename "$src" .cpp)"); done
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

say "benchmark"
timeout 240 "$bench" > "$logs/bench.log" 2>&1 || { status=1; echo "benchmark failed:"; tail -20 "$logs/bench.log"; }
say "training-step benchmark"
timeout 180 "$build/tests/bench/cuda_llama_step_bench" > "$logs/step_bench.log" 2>&1 ||
  { status=1; echo "training-step benchmark failed:"; tail -20 "$logs/step_bench.log"; }

echo
echo "== summary ($(elapsed), logs in $logs)"
printf '%s\n' "${summary[@]}"
sed -n '/^kernel /,$p' "$logs/bench.log"
sed -n '/^step /,$p' "$logs/step_bench.log"
exit $status
