#!/usr/bin/env bash
# Crash safety of checkpoints: tests/mpi/tools/ckpt_kill_tool writes checkpoints in a loop on 2
# ranks (tp=2); this script SIGKILLs one rank at a random moment, 20 times, restarting the writer
# each time (it resumes from the newest intact checkpoint). After every kill, "verify" must find a
# checkpoint whose every value matches its step (or none yet), and the verified step must never
# go backwards. Takes about 30-60 s.
set -u
build=${1:?usage: ckpt_kill_loop.sh BUILD_DIR}
tool=$build/tests/ckpt_kill_tool
[ -x "$tool" ] || { echo "missing $tool"; exit 1; }
work=$(mktemp -d)
mp=""
cleanup() {
  [ -n "$mp" ] && kill -KILL "$mp" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
dir=$work/ckpt
prev=0
kills=0
skips=0
while [ "$kills" -lt 20 ]; do
  rm -rf "$work/pids"
  mpirun -np 2 --oversubscribe "$tool" write "$dir" 2 >"$work/write.log" 2>&1 &
  mp=$!
  for _ in $(seq 200); do
    [ -s "$work/pids/rank-0.pid" ] && [ -s "$work/pids/rank-1.pid" ] && break
    sleep 0.05
  done
  if ! [ -s "$work/pids/rank-1.pid" ]; then echo "FAIL: writer did not start"; cat "$work/write.log"; exit 1; fi
  sleep "0.$(( RANDOM % 9 + 1 ))$(( RANDOM % 10 ))"
  victim=$(( RANDOM % 2 ))
  kill -KILL "$(cat "$work/pids/rank-$victim.pid")" 2>/dev/null
  # mpirun notices the dead rank and ends the job; do not wait forever.
  for _ in $(seq 200); do kill -0 "$mp" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$mp" 2>/dev/null
  wait "$mp" 2>/dev/null
  mp=""
  kills=$(( kills + 1 ))
  out=$("$tool" verify "$dir")
  rc=$?
  step=$(echo "$out" | sed -n 's/^verified step \([0-9]*\)$/\1/p')
  skips=$(( skips + $(echo "$out" | grep -c "skipping") ))
  echo "kill $kills (rank $victim): $(echo "$out" | tail -1)"
  if [ "$rc" -ne 0 ]; then echo "FAIL: verify failed"; echo "$out"; exit 1; fi
  if [ -z "$step" ]; then
    if [ "$prev" -gt 0 ]; then echo "FAIL: checkpoint of step $prev lost"; echo "$out"; exit 1; fi
    continue
  fi
  if [ "$step" -lt "$prev" ]; then echo "FAIL: newest intact step went back from $prev to $step"; exit 1; fi
  prev=$step
done
if [ "$prev" -eq 0 ]; then echo "FAIL: no checkpoint was ever completed"; exit 1; fi
echo "newest intact step $prev after $kills kills; $skips incomplete checkpoints skipped on the way"
echo "PASS"
