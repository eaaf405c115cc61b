#!/usr/bin/env bash
# `ckf cf` end to end on the synthetic planted-cluster dataset: both models train, report test AUC
# above 0.8, write an embeddings file; options also come from an INI file; bad input is a clear error.
set -euo pipefail
ckf="$1/launch/ckf"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for model in mf lightgcn; do
  "$ckf" cf --synthetic --model "$model" --dim 16 --epochs 10 --lr 0.01 --threads 2 --out "$tmp/$model.h5" >"$tmp/$model.log"
  test -s "$tmp/$model.h5"
  auc=$(awk '$1 == "test" {print $2}' "$tmp/$model.log")
  awk -v a="$auc" 'BEGIN { exit !(a > 0.8) }' || { echo "$model test AUC $auc <= 0.8"; cat "$tmp/$model.log"; exit 1; }
done

printf 'model = lightgcn\ndim = 8\nepochs = 2\nlayers = 1\n' >"$tmp/cf.ini"
"$ckf" cf --synthetic --config "$tmp/cf.ini" --out "$tmp/ini.h5" >"$tmp/ini.log"
grep -q "lightgcn on synthetic" "$tmp/ini.log"
grep -q "dim 8" "$tmp/ini.log"
test "$(grep -c '^epoch' "$tmp/ini.log")" = 2

expect_error() {  # expect_error NEEDLE ARGS...: the command fails and stderr names the problem
  local needle="$1"; shift
  if "$ckf" cf "$@" 2>"$tmp/err" >/dev/null; then echo "ckf cf $* succeeded"; exit 1; fi
  grep -q -- "$needle" "$tmp/err" || { echo "expected '$needle' in:"; cat "$tmp/err"; exit 1; }
}
expect_error "unknown CF model 'svd'" --synthetic --model svd --out "$tmp/x.h5"
expect_error "--dim 0" --synthetic --dim 0 --out "$tmp/x.h5"
expect_error "holds no catalog.h5" --data "$tmp" --out "$tmp/x.h5"
expect_error "exactly one of --data DIR and --synthetic" --out "$tmp/x.h5"
expect_error "unrecognised option" --synthetic --out "$tmp/x.h5" --bogus 1
test ! -e "$tmp/x.h5"
echo "cf_synthetic: ok"
