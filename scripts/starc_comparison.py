#!/usr/bin/env python3
"""The STARC comparison of docs/validation.md: attention latency and energy per token of starc
against token-wise (topk, SparQ-style) and dense, for Llama-3.1-8B, Mistral-7B and LongChat-7B
at 8K, 16K and 32K context and budgets 256..4096 (`sparsepim run`, 2 decode steps, 2 stacks),
plus TidalDecode, LFPS and the compositions at budget 1024. Writes one JSON line per run to
--out (default results/starc_comparison.jsonl) and prints the Markdown tables.
Usage: scripts/starc_comparison.py [--bin build/bin/sparsepim] [--jobs 2] [--tables-only]"""
import argparse
import concurrent.futures as cf
import json
import os
import subprocess
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
ap = argparse.ArgumentParser()
ap.add_argument("--bin", default=os.path.join(here, "..", "build", "bin", "sparsepim"))
ap.add_argument("--out", default=os.path.join(here, "..", "results", "starc_comparison.jsonl"))
ap.add_argument("--jobs", type=int, default=2)
ap.add_argument("--steps", type=int, default=2)
ap.add_argument("--tables-only", action="store_true")
a = ap.parse_args()

MODELS = ["llama-3.1-8b", "mistral-7b-v0.3", "longchat-7b-v1.5-32k"]
CONTEXTS = [8192, 16384, 32768]
BUDGETS = [256, 512, 1024, 2048, 4096]


MAX_CONTEXT = {"mistral-7b-v0.3": 32768, "longchat-7b-v1.5-32k": 32768}


def run(model, ctx, budget, policies):
    # "32K" is the longest prompt the model allows with the decode steps after it.
    ctx = min(ctx, MAX_CONTEXT.get(model, 1 << 30) - a.steps)
    with tempfile.TemporaryDirectory() as d:
        cmd = [a.bin, "run", "--model", model, "--context", str(ctx), "--budget", str(budget),
               "--steps", str(a.steps), "--stacks", "2", "--policy", ",".join(policies), "--json",
               "--out", d]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        s = json.loads(out[out.index("{"):])
    return {"model": model, "context": ctx, "budget": budget, "cmd": " ".join(cmd[1:-2]),
            "policies": {p["policy"]: {"latency_ns": p["latency_ns"]["total"],
                                       "energy_pJ": p["energy_pJ"]["total"], "recall": p["recall"],
                                       "row_groups": p["row_groups_per_step"],
                                       "latency": p["latency_ns"], "energy": p["energy_pJ"]}
                         for p in s["policies"]}}


if not a.tables_only:
    done = set()
    if os.path.exists(a.out):  # resume: keep the runs already made
        for line in open(a.out):
            r = json.loads(line)
            done.add((r["model"], r["context"], r["budget"]))
    jobs = []
    for m in MODELS:
        for c in CONTEXTS:
            for b in BUDGETS:
                pols = ["dense", "topk", "sparq", "starc"]
                if b == 1024:
                    pols += ["quest", "tidal", "lfps", "starc+tidal", "starc+lfps"]
                cc = min(c, MAX_CONTEXT.get(m, 1 << 30) - a.steps)
                if (m, cc, b) not in done:
                    jobs.append((m, c, b, pols))
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "a") as f, cf.ThreadPoolExecutor(a.jobs) as ex:
        for r in ex.map(lambda j: run(*j), jobs):
            f.write(json.dumps(r) + "\n")
            f.flush()

ORDER = {m: i for i, m in enumerate(MODELS)}
rows = sorted((json.loads(l) for l in open(a.out)),
              key=lambda r: (ORDER[r["model"]], r["context"], r["budget"]))


def pct(x, y):
    return f"{100.0 * (x / y - 1):+.0f}%"


print("| model | context | budget | starc latency µs | vs topk | vs sparq | vs dense | starc energy µJ | vs topk | vs sparq | vs dense | recall starc / topk |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    P = r["policies"]
    s, t, q, d = P["starc"], P["topk"], P["sparq"], P["dense"]
    print(f"| {r['model']} | {round(r['context'] / 1024)}K | {r['budget']} | {s['latency_ns'] / 1e3:.0f} | "
          f"{pct(s['latency_ns'], t['latency_ns'])} | {pct(s['latency_ns'], q['latency_ns'])} | "
          f"{pct(s['latency_ns'], d['latency_ns'])} | {s['energy_pJ'] / 1e6:.1f} | "
          f"{pct(s['energy_pJ'], t['energy_pJ'])} | {pct(s['energy_pJ'], q['energy_pJ'])} | "
          f"{pct(s['energy_pJ'], d['energy_pJ'])} | {s['recall']:.3f} / {t['recall']:.3f} |")
print()
print("Budget 1024, every policy: latency and energy per token relative to dense (recall):\n")
names = ["topk", "sparq", "quest", "starc", "tidal", "lfps", "starc+tidal", "starc+lfps"]
print("| model | context | " + " | ".join(names) + " |")
print("|---|---|" + "---|" * len(names))
for r in rows:
    if r["budget"] != 1024:
        continue
    P = r["policies"]
    d = P["dense"]
    cells = [f"{pct(P[n]['latency_ns'], d['latency_ns'])} / {pct(P[n]['energy_pJ'], d['energy_pJ'])} ({P[n]['recall']:.2f})"
             for n in names]
    print(f"| {r['model']} | {round(r['context'] / 1024)}K | " + " | ".join(cells) + " |")
