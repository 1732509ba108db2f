#!/usr/bin/env python3
"""The tables of docs/accuracy.md: runs `sparsepim accuracy` on the four shared real traces
(budgets 16, 32, 64) and on synthetic Llama-3.1-8B at 32K context (budgets 256..2048) and prints
Markdown. Usage: scripts/accuracy_tables.py [--bin build/bin/sparsepim] [--shared ../shared]
[--steps 16] [--only traces|synthetic] [--extra '--policy-set ...']"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(here, "..", "build", "bin", "sparsepim"))
ap.add_argument("--shared", default=os.path.join(here, "..", "..", "shared"))
ap.add_argument("--steps", type=int, default=16, help="decode steps of the synthetic run")
ap.add_argument("--context", type=int, default=32768)
ap.add_argument("--only", choices=["traces", "synthetic"])
ap.add_argument("--extra", default="", help="more arguments for sparsepim accuracy")
a = ap.parse_args()


def run(args):
    cmd = [a.bin, "accuracy", *args, "--json", *shlex.split(a.extra)]
    t0 = time.time()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    print(f"<!-- {' '.join(cmd[1:])}: {time.time() - t0:.0f} s -->", file=sys.stderr)
    return json.loads(out)


def policies_of(recs):
    seen = []
    for r in recs:
        if r["policy"] not in seen:
            seen.append(r["policy"])
    return seen


if a.only != "synthetic":
    budgets = [16, 32, 64]
    per_trace = {}
    for s in range(1, 5):
        per_trace[s] = run(["--trace", f"{a.shared}/traces/stories260k-seed{s}", "--budget", "16,32,64"])
    pols = policies_of(per_trace[1])
    print("### Real traces (stories260K, 4 seeds, 480 decode steps each)\n")
    print("Recall (mean of the 4 traces; min-max over traces in brackets) and exact top-B overlap:\n")
    print("| policy | " + " | ".join(f"recall B={b}" for b in budgets) + " | " +
          " | ".join(f"top-B B={b}" for b in budgets) + " |")
    print("|---" * (1 + 2 * len(budgets)) + "|")
    for p in pols:
        cells, ov = [], []
        for b in budgets:
            vals = [next(r for r in per_trace[s] if r["policy"] == p and r["budget"] == b) for s in per_trace]
            rec = [v["recall"] for v in vals]
            cells.append(f"{sum(rec)/4:.3f} ({min(rec):.3f}-{max(rec):.3f})")
            ov.append(f"{sum(v['topk_overlap'] for v in vals)/4:.3f}")
        print(f"| {p} | " + " | ".join(cells) + " | " + " | ".join(ov) + " |")
    print("\nOutput error and work at B = 32 (mean of the 4 traces; per KV head per layer per step):\n")
    print("| policy | rel. L2 error | cosine | keys scored | tokens fetched | row groups (KV head) | row groups (query head) |")
    print("|---|---|---|---|---|---|---|")
    for p in pols:
        vals = [next(r for r in per_trace[s] if r["policy"] == p and r["budget"] == 32) for s in per_trace]
        m = lambda k: sum(v[k] for v in vals) / 4
        print(f"| {p} | {m('rel_l2_error'):.3f} | {m('cosine'):.4f} | {m('keys_scored_per_step'):.1f} | "
              f"{m('tokens_fetched_per_step'):.1f} | {m('row_groups_per_step'):.1f} | {m('head_row_groups_per_step'):.1f} |")
    print()

if a.only != "traces":
    budgets = [256, 512, 1024, 2048]
    recs = run(["--model", "llama-3.1-8b", "--context", str(a.context), "--steps", str(a.steps),
                "--seed", "1", "--budget", ",".join(map(str, budgets))])
    pols = policies_of(recs)
    print(f"### Synthetic Llama-3.1-8B, {a.context // 1024}K context, {a.steps} decode steps, seed 1\n")
    print("| policy | " + " | ".join(f"recall B={b}" for b in budgets) + " | " +
          " | ".join(f"top-B B={b}" for b in budgets) + " | " +
          " | ".join(f"rel. L2 B={b}" for b in budgets) + " |")
    print("|---" * (1 + 3 * len(budgets)) + "|")
    get = lambda p, b: next(r for r in recs if r["policy"] == p and r["budget"] == b)
    for p in pols:
        print(f"| {p} | " + " | ".join(f"{get(p, b)['recall']:.3f}" for b in budgets) + " | " +
              " | ".join(f"{get(p, b)['topk_overlap']:.3f}" for b in budgets) + " | " +
              " | ".join(f"{get(p, b)['rel_l2_error']:.3f}" for b in budgets) + " |")
    print("\nWork at B = 1024 (per KV head per layer per step, mean over layers incl. the dense ones):\n")
    print("| policy | keys scored | metadata items | tokens fetched | row groups (KV head: scan + attention) | row groups (attention) | row groups (query head, tokens x16) |")
    print("|---|---|---|---|---|---|---|")
    for p in pols:
        r = get(p, 1024)
        print(f"| {p} | {r['keys_scored_per_step']:.0f} | {r['metadata_items_per_step']:.0f} | "
              f"{r['tokens_fetched_per_step']:.0f} | {r['row_groups_per_step']:.0f} | "
              f"{r['attend_row_groups_per_step']:.0f} | {r['head_row_groups_per_step']:.0f} "
              f"({16 * r['head_row_groups_per_step']:.0f}) |")
    print("\nRecall per layer at B = 1024:\n")
    L = len(recs[0]["per_layer"])
    print("| policy | " + " | ".join(str(l) for l in range(L)) + " |")
    print("|---" * (L + 1) + "|")
    for p in pols:
        print(f"| {p} | " + " | ".join(f"{x['recall']:.2f}" for x in get(p, 1024)["per_layer"]) + " |")
