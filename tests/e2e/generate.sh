#!/usr/bin/env bash
# `ckf generate`, `ckf score`, `ckf perplexity` on the embedded SmolLM2-135M-Instruct: greedy
# answers "Paris" (plain continuation and as a chat turn), score prints valid JSON whose log-probs
# are <= 0, perplexity is finite; a missing and a truncated model fail with a clear message and a
# non-zero exit. The model-dependent part is skipped (exit 0, "SKIP") when the file is absent.
set -euo pipefail
build=$1
ckf="$build/launch/ckf"
model=${CKF_MODEL_GGUF:-${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# expect_failure NEEDLE ARGS...: ckf must exit non-zero (not by a signal) and print NEEDLE.
expect_failure() {
  local needle=$1; shift
  local rc=0
  "$ckf" "$@" >"$work/log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] || fail "ckf $* succeeded"
  [ "$rc" -lt 128 ] || { cat "$work/log"; fail "ckf $* died by signal (exit $rc)"; }
  grep -qF -- "$needle" "$work/log" || { cat "$work/log"; fail "message of ckf $* lacks '$needle'"; }
}

expect_failure "/nonexistent/model.gguf does not exist" generate --model /nonexistent/model.gguf --prompt hi
expect_failure "--prompt is required" generate --model /nonexistent/model.gguf

if [ ! -f "$model" ]; then
  echo "SKIP: model file $model not present (cluster/setup-model.sh fetches it)"
  exit 0
fi

head -c 2000000 "$model" > "$work/truncated.gguf"
expect_failure "$work/truncated.gguf" generate --model "$work/truncated.gguf" --prompt hi
expect_failure "$work/truncated.gguf" score --model "$work/truncated.gguf" --text "hello there"

out=$("$ckf" generate --model "$model" --prompt "The capital of France is" --max-new 8 --threads 2)
[[ "$out" == " Paris"* ]] || fail "plain continuation is '$out', expected ' Paris...'"
out=$("$ckf" generate --model "$model" --prompt "What is the capital of France?" --chat --max-new 16)
[[ "$out" == *Paris* ]] || fail "chat answer is '$out', expected it to name Paris"

"$ckf" score --model "$model" --text "The capital of France is Paris." > "$work/score.json"
python3 - "$work/score.json" <<'PY'
import json, sys
rows = json.load(open(sys.argv[1]))
assert rows[0]["logprob"] is None and len(rows) >= 6, rows
assert all(r["logprob"] <= 0 for r in rows[1:]), rows
paris = [r for r in rows if r["token"] == " Paris"]
assert paris and paris[0]["logprob"] > -1.0, rows  # the model's greedy answer is likely
PY

for i in 1 2 3 4 5 6; do echo "The quick brown fox jumps over the lazy dog. Paris is the capital of France."; done > "$work/text.txt"
"$ckf" perplexity --model "$model" --file "$work/text.txt" --ctx 32 --stride 16 > "$work/ppl"
grep -qE "^perplexity [0-9]+\.[0-9]+ over [0-9]+ tokens" "$work/ppl" || { cat "$work/ppl"; fail "perplexity output"; }
echo "OK"
