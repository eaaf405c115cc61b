#!/usr/bin/env bash
# cluster/ckf-mpirun.sh: rank count, per-rank thread variables, CUDA_VISIBLE_DEVICES left alone,
# --oversubscribe only when ranks exceed cores, a real 2-rank MPI run (tests/fail_on_rank), and
# a clear error without `--`.
set -u
build=${1:?usage: mpirun_launcher.sh BUILD_DIR}
launcher=$(cd "$(dirname "$0")/../.." && pwd)/cluster/ckf-mpirun.sh
cores=$(nproc)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

out=$(timeout 60 bash "$launcher" --np 2 --ckf /bin/sh -- -c \
  'echo "rank=$OMPI_COMM_WORLD_RANK threads=$OMP_NUM_THREADS blas=$OPENBLAS_NUM_THREADS cvd=${CUDA_VISIBLE_DEVICES-unset}"' 2>&1) ||
  fail "2-rank shell run failed: $out"
expect=$(( cores / 2 )); [ "$expect" -ge 1 ] || expect=1
for r in 0 1; do
  grep -q "rank=$r threads=$expect blas=$expect cvd=${CUDA_VISIBLE_DEVICES-unset}" <<<"$out" ||
    fail "rank $r: wrong environment (want $expect threads, CUDA_VISIBLE_DEVICES untouched): $out"
done

# tests/fail_on_rank: with no failing rank the 2 ranks' all-reduce completes; with rank 1 failing
# the run ends non-zero naming rank 1, which exists only in a 2-rank world.
timeout 60 bash "$launcher" --np 2 --ckf "$build/tests/fail_on_rank" -- 2 >"$work/log" 2>&1 ||
  fail "fail_on_rank under the launcher failed: $(cat "$work/log")"
if timeout 60 bash "$launcher" --np 2 --ckf "$build/tests/fail_on_rank" -- 1 >"$work/log" 2>&1; then
  fail "fail_on_rank 1 under the launcher succeeded"
fi
grep -q "rank 1: error: .*deliberate failure" "$work/log" || fail "rank 1 did not run: $(cat "$work/log")"

dry=$(bash "$launcher" --np "$(( cores + 1 ))" --ckf /bin/sh --dry-run -- -c true)
grep -q -- "--oversubscribe" <<<"$dry" || fail "no --oversubscribe for $(( cores + 1 )) ranks on $cores cores: $dry"
dry=$(bash "$launcher" --np 1 --ckf /bin/sh --dry-run -- -c true)
grep -q -- "--oversubscribe" <<<"$dry" && fail "--oversubscribe for 1 rank: $dry"
grep -q -- "-np 1 " <<<"$dry" || fail "rank count not passed: $dry"
dry=$(bash "$launcher" --hostfile /dev/null --np 4 --ckf /bin/sh --dry-run -- -c true)
grep -q -- "--hostfile /dev/null" <<<"$dry" || fail "hostfile not passed through: $dry"

err=$(bash "$launcher" --np 2 --ckf /bin/sh 2>&1); rc=$?
[ "$rc" -eq 2 ] && grep -q "put the ckf command after --" <<<"$err" || fail "missing -- not reported (rc $rc): $err"
err=$(bash "$launcher" --np zero --ckf /bin/sh -- -c true 2>&1); rc=$?
[ "$rc" -eq 2 ] && grep -q "'zero' is not a positive count" <<<"$err" || fail "bad --np not reported (rc $rc): $err"
echo "PASS"
