#!/usr/bin/env bash
# `ckf prep --model` end to end on the tiny MovieLens fixture: with the small tokenizer.json fixture
# (always) and with the SmolLM2 GGUF (when the cache holds it): schema version 2, the tokenizer
# identity attribute, the /prompt datasets; then `ckf cf --data` on the result.
source "$(dirname "$0")/lib/common.sh"
fixture="$here/data/raw/ml-latest-tiny"

# Every rating positive: the fixture's valid/test ratings are all below 4, and ctr/topk need positives.
small="--seq-candidates 2 --topk-candidates 2 --seed 3 --positive-min 0.5"
check_prompts() {  # DIR: every shard has schema 2, a tokenizer identity and prompts
  local f
  for f in "$1"/{train,valid,test}/{ctr,sequential,rating,topk}/shard-00000.h5; do
    [ -f "$f" ] || fail "missing $f"
    h5dump -a schema_version "$f" | grep -q "(0): 2" || fail "$f: schema_version is not 2"
    h5dump -a tokenizer "$f" | grep -q "bpe-fnv1a64:" || fail "$f: no tokenizer identity"
    h5dump -H -d /prompt/soft/tokens "$f" > /dev/null || fail "$f: no /prompt/soft/tokens"
  done
  h5dump -H -d /prompt/suffix_soft/tokens "$1/valid/topk/shard-00000.h5" > /dev/null || fail "topk has no suffixes"
}

"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/json" $small \
  --model "$here/data/tokenizer/prompt_tokenizer.json" > "$work/log"
grep -q "prompt tokens mean" "$work/log" || { cat "$work/log"; fail "no prompt statistics"; }
check_prompts "$work/json"

# The tokens do not depend on the number of tokenizer threads.
"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/json3" $small --threads 3 \
  --model "$here/data/tokenizer/prompt_tokenizer.json" > /dev/null
for f in train/rating/shard-00000.h5 valid/topk/shard-00000.h5; do
  for run in json json3; do h5dump -g /prompt "$work/$run/$f" | sed "s#$work/$run##" > "$work/$run.dump"; done
  cmp -s "$work/json.dump" "$work/json3.dump" || fail "$f: prompts differ between --threads 2 and 3"
done

# Without --model: ids only, schema 1 as before.
"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/plain" $small > /dev/null
h5dump -a schema_version "$work/plain/valid/ctr/shard-00000.h5" | grep -q "(0): 1" || fail "no --model: schema not 1"

# A limit no prompt fits in is an error naming the flag.
if "$ckf" prep --source movielens-latest --input "$fixture" --out "$work/short" $small \
  --model "$here/data/tokenizer/prompt_tokenizer.json" --max-prompt-tokens 8 > "$work/log" 2>&1; then
  fail "--max-prompt-tokens 8 succeeded"
fi
grep -q -- "--max-prompt-tokens" "$work/log" || { cat "$work/log"; fail "error does not name --max-prompt-tokens"; }

# CF training reads the prompt dataset (schema 2) and the plain one (schema 1).
for d in json plain; do
  "$ckf" cf --data "$work/$d" --model mf --dim 4 --epochs 2 --out "$work/$d.emb.h5" > "$work/log" || { cat "$work/log"; fail "ckf cf --data $d"; }
  grep -q "^test " "$work/log" || { cat "$work/log"; fail "ckf cf printed no test metrics"; }
done

gguf=${CKF_MODEL_GGUF:-${CKF_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/ckf}/models/SmolLM2-135M-Instruct.Q4_1.gguf}
if [ -f "$gguf" ]; then
  "$ckf" prep --source movielens-latest --input "$fixture" --out "$work/gguf" $small --model "$gguf" > "$work/log"
  check_prompts "$work/gguf"
  ! cmp -s <(h5dump -a tokenizer "$work/gguf/valid/ctr/shard-00000.h5" | grep fnv) \
      <(h5dump -a tokenizer "$work/json/valid/ctr/shard-00000.h5" | grep fnv) || fail "identities of two tokenizers agree"
else
  echo "prep_prompts: $gguf absent, SmolLM2 part skipped (cluster/setup-model.sh fetches it)"
fi
echo "prep_prompts: ok"
