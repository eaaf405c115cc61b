#!/usr/bin/env bash
# ckf's Multi-LoRA training step against PyTorch + PEFT on the same model, batch and thread count,
# one after the other on this machine; prints both RESULT lines and the ratios.
# Usage: tests/bench/lora_vs_peft.sh BUILD_DIR [steps=3] [threads=2] [B=8] [T=256]
set -euo pipefail
build=$1; steps=${2:-3}; threads=${3:-2}; B=${4:-8}; T=${5:-256}
here=$(cd "$(dirname "$0")" && pwd)
model=${CKF_MODEL_GGUF:-$HOME/.cache/ckf/models/SmolLM2-135M-Instruct.Q4_1.gguf}
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
ckf=$(OPENBLAS_NUM_THREADS=$threads "$build/tests/bench/lora_step_bench" "$model" "$steps" "$threads" "$B" "$T" | tee -a /dev/stderr | grep '^RESULT')
peft=$(OMP_NUM_THREADS=$threads python3 "$here/peft_step_bench.py" "$model" "$steps" "$threads" "$B" "$T" 2>/dev/null | tee -a /dev/stderr | grep '^RESULT')
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
echo "$ckf"
echo "$peft"
python3 -c "print('tokens/s ckf/peft = %.2f, peak RSS ckf/peft = %.2f' % ($(field "$ckf" tokens_per_s)/$(field "$peft" tokens_per_s), $(field "$ckf" peak_rss_mb)/$(field "$peft" peak_rss_mb)))"
