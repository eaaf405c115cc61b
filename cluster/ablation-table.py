#!/usr/bin/env python3
"""The markdown table of cluster/run-ablations.sh: one row per variant from RUN_DIR/NAME/eval-test.json.

Refuses (exit 1, naming the variant) a variant without a report, a report of another split or eval
variant, a missing task or metric, and variants evaluated on different sample counts: a failed or
mismatched variant is an error, never a blank or incomparable row. Undefined metrics (null in the
report: a group with one class) are shown as n/a.
"""
import argparse
import configparser
import json
import math
import os
import sys

# name -> (what differs from the main job's configuration, the ckf eval --variant it needs)
VARIANTS = {
    "cf-mf": ("CF only: MF (BPR) embeddings, `<e_u, e_i>`; rating: ridge on the embeddings", "cf"),
    "cf-lightgcn": ("CF only: LightGCN embeddings, as cf-mf", "cf"),
    "text-lora": ("`mapper.kind = none`: titles-only prompts + Multi-LoRA (TALLRec-like)", "text"),
    "single-lora": ("`lora.single = true`: one adapter set (q,k,v,o), no task adapters", "soft"),
    "shared-linear": ("`mapper.kind = shared_linear`: one linear mapping, no MetaNet (CoLLM-like)", "soft"),
    "ckf": ("none: the main job (MetaNet mapper, Multi-LoRA)", "soft"),
}
COLUMNS = [("ctr", "auc", "ctr AUC"), ("ctr", "uauc", "ctr UAUC"), ("sequential", "hr@1", "seq HR@1"),
           ("sequential", "hr@5", "seq HR@5"), ("sequential", "ndcg@5", "seq NDCG@5"),
           ("rating", "rmse", "rating RMSE"), ("rating", "mae", "rating MAE"), ("topk", "hr@10", "topk HR@10"),
           ("topk", "ndcg@10", "topk NDCG@10")]


def fail(msg):
    print(f"ablation-table: {msg}", file=sys.stderr)
    sys.exit(1)


def budget(config_path, ranks):
    """The training budget line from the base configuration (top-level keys come before any section)."""
    cp = configparser.ConfigParser()
    cp.read_string("[top]\n" + open(config_path).read())
    steps = cp.getint("top", "steps", fallback=None)
    tasks = cp.get("data", "tasks", fallback="").split(",")
    batch = [int(b) for b in cp.get("data", "batch", fallback="").split(",") if b.strip()]
    if steps is None or len(tasks) != len(batch):
        fail(f"{config_path}: needs steps and [data] tasks and batch of the same length")
    seen = ", ".join(f"{t} {steps * b}" for t, b in zip(tasks, batch))
    return f"training: {steps} steps on {ranks} ranks, samples seen per task: {seen}"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--run-dir", required=True)
    ap.add_argument("--config", required=True, help="the base configuration (the main job's)")
    ap.add_argument("--ranks", type=int, required=True)
    ap.add_argument("variants", nargs="+")
    a = ap.parse_args()

    rows, counts, problems = [], None, []
    for name in a.variants:
        if name not in VARIANTS:
            fail(f"unknown variant {name}")
        differs, want_variant = VARIANTS[name]
        path = os.path.join(a.run_dir, name, "eval-test.json")
        if not os.path.isfile(path):
            problems.append(f"{name}: no {path} (the variant failed; see its logs in {os.path.dirname(path)})")
            continue
        r = json.load(open(path))
        if r.get("split") != "test" or r.get("variant") != want_variant:
            problems.append(f"{name}: {path} is split {r.get('split')} variant {r.get('variant')}, "
                            f"expected test {want_variant}")
            continue
        cells, n = [], {}
        for task, metric, _ in COLUMNS:
            group = r.get("tasks", {}).get(task, {}).get("all")
            if group is None or metric not in group:
                problems.append(f"{name}: {path} has no {task} {metric}")
                break
            v = group[metric]
            if v is not None and not math.isfinite(v):
                problems.append(f"{name}: {task} {metric} is {v}")
                break
            cells.append("n/a" if v is None else f"{v:.4f}")
            n[task] = group["samples"]
        else:
            if counts is None:
                counts = n
            elif n != counts:
                problems.append(f"{name}: evaluated on {n} samples, the others on {counts}")
                continue
            seconds = os.path.join(a.run_dir, name, "seconds")
            t = open(seconds).read().split() if os.path.isfile(seconds) else ["?", "?"]
            rows.append(f"| {name} | {differs} | " + " | ".join(cells) + f" | {t[0]} / {t[1]} |")
    if problems:
        fail("\n  ".join(["not every variant has a comparable result:"] + problems))

    print(f"Test split, first samples of each task: {', '.join(f'{t} {c}' for t, c in counts.items())}; "
          f"{budget(a.config, a.ranks)}.\n")
    print("| variant | differs from the main job | " + " | ".join(c[2] for c in COLUMNS) + " | train / eval s |")
    print("|---|---|" + "---|" * len(COLUMNS) + "---|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
