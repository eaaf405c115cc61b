"""Asserts that two `ckf train` runs gave the same result (used by e2e scripts after a resume).

  same_run.py metrics A.jsonl B.jsonl STEPS   both JSONL files hold steps 1..STEPS once, in order, with
                                             identical printed step, loss, task losses, grad norm and lr,
                                             and identical evaluation records (--eval-every), if any
  same_run.py ckpt DIR_A DIR_B                every rank file of two checkpoint step directories holds the
                                             same parameter and AdamW moment names, bit for bit
  same_run.py ckpt-global DIR_A DIR_B         the whole tensors, assembled from each directory's shards by
                                             their global offsets (any TP/DP layout), are bit-identical
  same_run.py metrics-close A B FIRST LAST [RTOL]
                                             steps FIRST..LAST have loss and grad norm within RTOL
                                             relative (default 1e-4: runs that differ only in summation
                                             order, e.g. TP; a bf16 device run against fp32 needs more)
Exits non-zero naming the first difference.
"""
import glob
import json
import os
import sys

import h5py
import numpy as np


def records(path):
    """The step records and the evaluation records ({"step", "eval"}) of a metrics file."""
    rows = [json.loads(line) for line in open(path)]
    return [r for r in rows if "eval" not in r], [r for r in rows if "eval" in r]


def same_metrics(a_path, b_path, steps):
    key = lambda r: (r["step"], r["loss"], r["task_loss"], r["grad_norm"], r["lr"])
    (a_steps, a_evals), (b_steps, b_evals) = records(a_path), records(b_path)
    assert a_evals == b_evals, f"evaluations differ:\n{a_evals}\n{b_evals}"
    runs = [[key(r) for r in rows] for rows in (a_steps, b_steps)]
    for path, rows in zip((a_path, b_path), runs):
        assert [r[0] for r in rows] == list(range(1, steps + 1)), f"{path}: steps {[r[0] for r in rows]}, want 1..{steps}"
    diff = [f"{x}\n{y}" for x, y in zip(*runs) if x != y]
    assert not diff, "metrics differ:\n" + "\n".join(diff)
    print(f"same run: {steps} steps of losses identical, {len(a_evals)} evaluations identical")


def same_checkpoint(a_dir, b_dir):
    ranks = sorted(os.path.basename(f) for f in glob.glob(f"{a_dir}/rank-*.h5"))
    assert ranks, f"{a_dir}: no rank files"
    assert ranks == sorted(os.path.basename(f) for f in glob.glob(f"{b_dir}/rank-*.h5")), (a_dir, b_dir)
    n = 0
    for rank in ranks:
        with h5py.File(f"{a_dir}/{rank}") as a, h5py.File(f"{b_dir}/{rank}") as b:
            for g in ("param", "adam_m", "adam_v"):
                assert sorted(a[g]) == sorted(b[g]), (rank, g)
                for name in a[g]:
                    x, y = a[g][name][()], b[g][name][()]
                    assert x.tobytes() == y.tobytes(), f"{rank} {g}/{name} differs: max |diff| {np.abs(x - y).max()}"
                    n += 1
    print(f"same run: {n} tensors of {len(ranks)} rank files bit-identical")


def global_tensors(d):
    out = {}
    for f in sorted(glob.glob(f"{d}/rank-*.h5")):
        with h5py.File(f) as h:
            for g in ("param", "adam_m", "adam_v"):
                for name in h[g]:
                    ds = h[g][name]
                    dim, off = int(np.ravel(ds.attrs["split_dim"])[0]), int(np.ravel(ds.attrs["split_offset"])[0])
                    full = out.setdefault((g, name), np.full(tuple(ds.attrs["global_shape"]), np.nan, np.float32))
                    idx = [slice(None)] * full.ndim
                    if dim >= 0:
                        idx[dim] = slice(off, off + ds.shape[dim])
                    full[tuple(idx)] = ds[()]
    assert out, f"{d}: no rank files"
    return out


def same_checkpoint_global(a_dir, b_dir):
    a, b = global_tensors(a_dir), global_tensors(b_dir)
    assert sorted(a) == sorted(b), set(a) ^ set(b)
    for k in a:
        assert not np.isnan(a[k]).any(), f"{a_dir}: the shards of {k} do not cover it"
        assert a[k].tobytes() == b[k].tobytes(), f"{k} differs: max |diff| {np.nanmax(np.abs(a[k] - b[k]))}"
    print(f"same state: {len(a)} whole tensors bit-identical")


def close_metrics(a_path, b_path, first, last, rtol=1e-4):
    a, b = ({r["step"]: r for r in records(p)[0]} for p in (a_path, b_path))
    for s in range(first, last + 1):
        for k in ("loss", "grad_norm"):
            x, y = a[s][k], b[s][k]
            assert abs(x - y) <= rtol * abs(y), f"step {s} {k}: {x} ({a_path}) vs {y} ({b_path}), rtol {rtol}"
    print(f"close runs: steps {first}..{last} agree in loss and grad norm (rtol {rtol})")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "metrics":
        same_metrics(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif len(sys.argv) == 4 and sys.argv[1] == "ckpt":
        same_checkpoint(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == "ckpt-global":
        same_checkpoint_global(sys.argv[2], sys.argv[3])
    elif len(sys.argv) in (6, 7) and sys.argv[1] == "metrics-close":
        close_metrics(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), *map(float, sys.argv[6:]))
    else:
        sys.exit(__doc__)
