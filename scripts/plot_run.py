#!/usr/bin/env python3
"""Plots a `sparsepim run` summary: attention latency and energy per decoded token per policy
(stacked by phase / component) with recall beside them. Usage: plot_run.py summary.json out.png"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

if len(sys.argv) != 3:
    sys.exit("usage: plot_run.py summary.json out.png")
s = json.load(open(sys.argv[1]))
pols = s["policies"]
names = [p["policy"] for p in pols]
x = range(len(names))
fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), gridspec_kw={"width_ratios": [3, 3, 2]})


def stacked(ax, key, scale, unit, skip):
    parts = [k for k in pols[0][key] if k not in skip]
    bottom = [0.0] * len(pols)
    for part in parts:
        vals = [p[key].get(part, 0.0) * scale for p in pols]
        if max(vals) <= 0:
            continue
        ax.bar(x, vals, bottom=bottom, label=part)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.set_xticks(list(x))
    ax.set_xticklabels(names, rotation=35, ha="right")
    ax.set_ylabel(unit)
    ax.legend(fontsize=7)


stacked(axes[0], "latency_ns", 1e-3, "attention latency per token (µs)", {"total", "sum_of_phases"})
axes[0].set_title("latency (critical head of each layer, by phase)")
stacked(axes[1], "energy_pJ", 1e-6, "attention energy per token (µJ)", {"total"})
axes[1].set_title("energy by component")
axes[2].bar(x, [p["recall"] for p in pols], color="tab:green")
axes[2].set_ylim(0, 1.05)
axes[2].set_xticks(list(x))
axes[2].set_xticklabels(names, rotation=35, ha="right")
axes[2].set_title("attention-mass recall")
c = s["config"]
fig.suptitle(f"{c['model']}, {c['context']} context, budget {c['budget']}, {c['memory']} x {c['stacks']}"
             f" ({c['steps']} steps, seed {c['seed']})")
fig.tight_layout()
fig.savefig(sys.argv[2], dpi=110)
print(f"wrote {sys.argv[2]}")
