#!/usr/bin/env bash
# `ckf prep` end to end on the tiny MovieLens fixture: a good run, reproducibility from --seed,
# --config, and bad inputs: each must exit non-zero with a message naming the problem, leave an
# existing dataset byte-for-byte as it was, and leave no temporary directory behind.
source "$(dirname "$0")/lib/common.sh"
fixture="$here/data/raw/ml-latest-tiny"
tree_sum() { (cd "$1" && find . -type f | sort | xargs md5sum); }

# expect_failure NEEDLE ARGS...: ckf prep must fail, print NEEDLE, and leave $work/out untouched.
expect_failure() {
  local needle=$1; shift
  local before; before=$(tree_sum "$work/out")
  if "$ckf" prep "$@" >"$work/log" 2>&1; then fail "ckf prep $* succeeded"; fi
  grep -qF -- "$needle" "$work/log" || { cat "$work/log"; fail "message lacks '$needle'"; }
  [ "$(tree_sum "$work/out")" = "$before" ] || fail "ckf prep $* changed the existing dataset"
  ! ls -a "$work" | grep -q '\.tmp-' || fail "temporary left behind by ckf prep $*"
}

# 5 items and users with up to 4 of them: 2 candidates (1 negative) is all the fixture allows.
small="--seq-candidates 2 --topk-candidates 2"
"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/out" --seed 3 --shard-size 4 $small > "$work/log"
grep -q "catalog 12 interactions, 4 users" "$work/log" || { cat "$work/log"; fail "unexpected counts"; }
[ -f "$work/out/catalog.h5" ] || fail "no catalog.h5"
[ -f "$work/out/train/rating/shard-00001.h5" ] || fail "train rating shards missing (8 samples / 4 per shard)"
h5dump -a schema_version "$work/out/catalog.h5" | grep -q "(0): 1" || fail "catalog schema_version is not 1"

# Same seed, same samples (HDF5 files carry timestamps, so compare the data).
printf 'source = movielens-latest\ninput = %s\nseed = 3\nshard-size = 4\nseq-candidates = 2\ntopk-candidates = 2\n' \
  "$fixture" > "$work/prep.ini"
"$ckf" prep --config "$work/prep.ini" --out "$work/again" > /dev/null
for f in train/topk/shard-00000.h5 test/sequential/shard-00000.h5 train/ctr/shard-00001.h5; do
  for run in out again; do
    h5dump -d /candidates -d /target -d /label "$work/$run/$f" | sed "s#$work/$run##" > "$work/$run.dump" \
      || fail "h5dump $work/$run/$f"
  done
  cmp -s "$work/out.dump" "$work/again.dump" || fail "$f differs between two runs with seed 3"
done

# The other two sources, through the binary (counts by hand: see tests/unit/raw_readers_test.cpp).
"$ckf" prep --source movielens-1m --input "$here/data/raw/ml-1m-tiny" --out "$work/ml1m" $small > "$work/log"
grep -q "catalog 4 interactions, 2 users (2 cold), 3 items (0 without title)" "$work/log" || { cat "$work/log"; fail "1m counts"; }
"$ckf" prep --source amazon --input "$here/data/raw/amazon-tiny/reviews.json.gz" \
  --meta "$here/data/raw/amazon-tiny/meta-2014.json" --out "$work/amazon" $small > "$work/log"
grep -q "catalog 4 interactions, 3 users (3 cold), 3 items (1 without title)" "$work/log" || { cat "$work/log"; fail "amazon counts"; }
h5dump -d /interactions/review/offsets "$work/amazon/catalog.h5" > /dev/null || fail "amazon catalog has no review text"

bad="$work/bad"
mkdir -p "$bad"
cp "$fixture/movies.csv" "$bad/"
printf 'userId,movieId,timestamp\n1,1,100\n' > "$bad/ratings.csv"
expect_failure "ratings.csv:1: missing column 'rating'" --source movielens-latest --input "$bad" --out "$work/out"
printf 'userId,movieId,rating,timestamp\n1,1,4,100\n1,2,7.5,101\n' > "$bad/ratings.csv"
expect_failure "ratings.csv:3: rating 7.5 outside [0.5, 5]" --source movielens-latest --input "$bad" --out "$work/out"
expect_failure "--source 'netflix'" --source netflix --input "$fixture" --out "$work/out"
expect_failure "--input is required" --source movielens-latest --out "$work/out"
expect_failure "--split 'random'" --source movielens-latest --input "$fixture" --out "$work/out" --split random
expect_failure "unrecognised option" --source movielens-latest --input "$fixture" --out "$work/out" --bogus 1
# Fails after the catalog is already written into the temporary directory.
expect_failure "history_len > 0" --source movielens-latest --input "$fixture" --out "$work/out" --history-len 0

# A failing run into a new name creates nothing.
"$ckf" prep --source movielens-latest --input "$bad" --out "$work/fresh" > /dev/null 2>&1 && fail "bad input accepted"
[ ! -e "$work/fresh" ] || fail "a failed run left $work/fresh"

# A non-empty directory that is not a dataset is never replaced.
mkdir -p "$work/precious" && echo keep > "$work/precious/notes.txt"
"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/precious" > "$work/log" 2>&1 && fail "replaced a foreign directory"
grep -q "holds no catalog.h5: refusing" "$work/log" || fail "no refusal message"
[ "$(cat "$work/precious/notes.txt")" = keep ] || fail "foreign directory damaged"

# A good run replaces an existing dataset.
"$ckf" prep --source movielens-latest --input "$fixture" --out "$work/out" --seed 4 > /dev/null
h5dump -a seed "$work/out/train/rating/shard-00000.h5" | grep -q "(0): 4" || fail "dataset not replaced"
[ ! -e "$work/out/train/rating/shard-00001.h5" ] || fail "stale shard from the previous dataset survived"
! ls -a "$work" | grep -q '\.tmp-' || fail "the replaced dataset was left behind under a temporary name"
echo "prep_bad_input: ok"
