#!/usr/bin/env bash
# One rank throws while the others wait in a collective: the job must end within 30 s with a
# non-zero status, and stderr must name the failing rank and the error (dist/run_collectively).
set -u
build=${1:?usage: dist_abort.sh BUILD_DIR}
probe=$build/tests/fail_on_rank
[ -x "$probe" ] || { echo "missing $probe"; exit 1; }
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for fail_rank in 1 3; do
  start=$(date +%s)
  timeout 30 mpirun -np 4 --oversubscribe "$probe" "$fail_rank" >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - start ))
  echo "fail rank $fail_rank: exit $rc after ${took}s"
  if [ "$rc" -eq 0 ]; then echo "FAIL: job exited 0"; cat "$log"; exit 1; fi
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then echo "FAIL: job hung until the 30 s timeout"; cat "$log"; exit 1; fi
  if ! grep -q "rank $fail_rank: error: .*deliberate failure" "$log"; then
    echo "FAIL: stderr does not name rank $fail_rank and the error"; cat "$log"; exit 1
  fi
done
echo "PASS"
