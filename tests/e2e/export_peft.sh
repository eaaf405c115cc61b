#!/usr/bin/env bash
# `ckf export --format peft` end to end with a tiny random decoder: ckf prep and ckf cf on a
# synthetic MovieLens export, a 4-step ckf train with a checkpoint, then ckf export of one task
# (configuration from --config and from the checkpoint's record), checked by
# tests/golden/check_peft_export.py: PEFT loads every adapter tensor with scale 1 and its logits
# equal the base model with B A merged by hand within 1e-4. Bad options are refused by name.
source "$(dirname "$0")/lib/common.sh"

source "$here/e2e/lib/tiny_dataset.sh"
tiny_dataset

# Shared adapters on q, k, v, o and task adapters on q and up: q carries both, with other ranks.
tiny_config ctr,sequential 4,2 "[lora]
shared-targets = q,k,v,o
shared-r = 3
shared-alpha = 6
task-targets = q,up
task-r = 2
task-alpha = 5
[optim]
lr = 0.05
warmup = 1" > "$work/train.ini"
"$ckf" train --config "$work/train.ini" --steps 4 --ckpt-every 4 --ckpt-dir "$work/ck" > "$work/train.log" 2>&1 \
  || { cat "$work/train.log"; fail "train"; }

"$ckf" export --ckpt "$work/ck" --task ctr --format peft --out "$work/peft" --config "$work/train.ini" \
  > "$work/export.log" 2>&1 || { cat "$work/export.log"; fail "export"; }
for f in adapter_config.json adapter_model.safetensors mapper.safetensors; do
  [ -f "$work/peft/$f" ] || fail "no $f"
done
python3 "$here/golden/check_peft_export.py" "$work/peft" --vocab 400 --hidden 32 --layers 2 --heads 4 \
  --kv-heads 2 --head-dim 8 --ffn 64 2>&1 | grep -v Warning || fail "PEFT check"

# Without --config the checkpoint's recorded configuration gives the same export.
"$ckf" export --ckpt "$work/ck" --task ctr --out "$work/peft2" > "$work/export2.log" 2>&1 \
  || { cat "$work/export2.log"; fail "export from the recorded configuration"; }
cmp "$work/peft/adapter_model.safetensors" "$work/peft2/adapter_model.safetensors" || fail "recorded config exports differ"

expect_refused() {  # expect_refused WORD ARGS...: fails unless ckf exits non-zero naming WORD
  local word=$1; shift
  if "$ckf" export "$@" > "$work/bad.log" 2>&1; then fail "accepted: $*"; fi
  grep -q -- "$word" "$work/bad.log" || { cat "$work/bad.log"; fail "message does not name $word"; }
}
expect_refused "'rating'" --ckpt "$work/ck" --task rating --out "$work/x"
expect_refused "--format" --ckpt "$work/ck" --task ctr --format gguf --out "$work/x"
expect_refused "--out" --ckpt "$work/ck" --task ctr
expect_refused "no intact checkpoint" --ckpt "$work/nothing" --task ctr --out "$work/x"
[ ! -e "$work/x" ] || fail "a refused export left output"
echo OK
