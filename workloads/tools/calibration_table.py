#!/usr/bin/python3
"""Prints the calibration table of docs/workloads.md (target vs measured) from the JSON of

    sparsepim stats --model llama-3.1-8b --context 131008 --steps 64 --seed 1 > stats.json

and the published per-head statistics in ../shared/calibration. Standard library only.

usage: calibration_table.py stats.json [../shared/calibration]
"""
import json
import os
import statistics
import sys

stats = json.load(open(sys.argv[1]))
cal = sys.argv[2] if len(sys.argv) > 2 else "../shared/calibration"

duo = [[float(x) for x in line.split()] for line in
       open(os.path.join(cal, "duo_attention/Meta-Llama-3.1-8B-Instruct/full_attention_heads.tsv"))
       if line.strip()]
duo_layer = [sum(g > 0.5 for g in row) / len(row) for row in duo]
duo_share = sum(sum(g > 0.5 for g in row) for row in duo) / sum(len(r) for r in duo)

mi = json.load(open(os.path.join(
    cal, "minference/Llama_3.1_8B_Instruct_128k_kv_out_v32_fit_o_best_pattern.json")))
mi_scores = [[layer[str(h)][3] for h in range(len(layer))] for layer in mi]
mi_median = statistics.median(s for row in mi_scores for s in row)
mi_layer_median = [statistics.median(row) for row in mi_scores]
mi_budgets = [(layer[str(h)][1], layer[str(h)][2]) for layer in mi for h in range(len(layer))]
mi_v = sum(b == (3500, 100) for b in mi_budgets) / len(mi_budgets)
mi_s = sum(b == (30, 800) for b in mi_budgets) / len(mi_budgets)


def f(x, digits=3):
    return "n/a" if x is None else f"{x:.{digits}f}"


def pct(x):
    return "n/a" if x is None else f"{100 * x:.1f} %"


def mean_abs_diff(a, b):
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return sum(abs(x - y) for x, y in pairs) / len(pairs) if pairs else None


def ok(cond):
    return "yes" if cond else "**no**"


def within(x, limit):
    return x is not None and x <= limit


rh = stats["retrieval_heads"]
vs = stats["vertical_slash"]
kind = vs.get("measured_kind", {})
ko = stats["key_outlier_channels"]
rec = stats["recall"]
cso = stats["cross_step_overlap"]
clo = stats["cross_layer_overlap"]
qc = stats["query_cosine_adjacent"]
deep = [x for x in cso["per_layer"][2:] if x is not None]
ctx = stats["decode_steps"]["context_at_first_step"]

rows = [
    ("Retrieval-head share (DuoAttention gate > 0.5), all KV heads", pct(duo_share),
     "± 3 points", pct(rh["share"]), ok(abs(rh["share"] - duo_share) <= 0.03)),
    ("Retrieval heads: per-head agreement with the gates", "100 %", ">= 95 %",
     pct(rh.get("agreement_with_preset")), ok(rh.get("agreement_with_preset", 0) >= 0.95)),
    ("Retrieval-head share per layer, mean abs. difference", "0", "<= 0.05",
     f(mean_abs_diff(rh["per_layer_share"], duo_layer)),
     ok(within(mean_abs_diff(rh["per_layer_share"], duo_layer), 0.05))),
    ("Vertical-and-slash capture (MInference score), median over heads", f(mi_median),
     "± 0.03", f(vs.get("median_capture")),
     ok(abs((vs.get("median_capture") or 0) - mi_median) <= 0.03)),
    ("Vertical-and-slash capture, per-layer median, mean abs. difference", "0", "<= 0.05",
     f(mean_abs_diff(vs.get("per_layer_median", []), mi_layer_median)),
     ok(within(mean_abs_diff(vs.get("per_layer_median", []), mi_layer_median), 0.05))),
    ("Vertical-dominant heads (3500 columns beat 30 + 800 diagonals by 0.05)", pct(mi_v),
     "± 5 points", pct(kind.get("vertical_share")),
     ok(abs((kind.get("vertical_share") or 0) - mi_v) <= 0.05)),
    ("Slash-dominant heads (30 + 800 diagonals beat 3500 columns by 0.05)", pct(mi_s),
     "± 5 points", pct(kind.get("slash_share")),
     ok(abs((kind.get("slash_share") or 0) - mi_s) <= 0.05)),
    ("Key outlier channels: measured top-8 (mean abs., pre-RoPE) in DoubleSparse's top-8",
     "100 %", ">= 90 %", pct(ko.get("agreement_with_preset")),
     ok((ko.get("agreement_with_preset") or 0) >= 0.9)),
    ("Key outlier channels fixed: top-8 of the first vs second half of the context", "100 %",
     ">= 90 %", pct(ko["half_stability"]), ok(ko["half_stability"] >= 0.9)),
    (f"Top-{rec['k']} attention-mass recall at {ctx} tokens, mean over heads", "0.96",
     "± 0.02", f(rec["mean"]), ok(abs(rec["mean"] - 0.96) <= 0.02)),
    (f"Cross-step top-{cso['k']} overlap, layers 0-1", "1-2 %", "0.5-2.5 %",
     pct(cso["layers_0_1"]), ok(0.005 <= cso["layers_0_1"] <= 0.025)),
    (f"Cross-step top-{cso['k']} overlap, layers 2-31 (mean)", "35-50 %", "35-50 %",
     pct(cso["layers_2_up"]), ok(0.35 <= cso["layers_2_up"] <= 0.50)),
    (f"Cross-step top-{cso['k']} overlap, layers 2-31 (max layer)", "up to ~60 %", "<= 62 %",
     pct(max(deep)), ok(max(deep) <= 0.62)),
    (f"Cross-layer: layer-{clo['selection_layer']} top-{clo['k']} in later layers' top-{clo['k']}"
     f" (layers > {clo['reselection_layer']})", "< 20 %", "< 20 %",
     pct(clo["selection_to_after_reselection"]), ok(clo["selection_to_after_reselection"] < 0.2)),
    (f"Cross-layer: layer-{clo['reselection_layer']} re-selection in later layers' top-{clo['k']}",
     "~40 %", "35-45 %", pct(clo["reselection_to_after"]),
     ok(0.35 <= clo["reselection_to_after"] <= 0.45)),
    ("Adjacent-step query cosine, lowest head mean (pre-RoPE)", "> 0.84", "> 0.84",
     f(qc["pre_rope"]["min_head_mean"]), ok(qc["pre_rope"]["min_head_mean"] > 0.84)),
    ("Adjacent-step query cosine, lowest head mean (post-RoPE)", "> 0.84", "> 0.84",
     f(qc["post_rope"]["min_head_mean"]), ok(qc["post_rope"]["min_head_mean"] > 0.84)),
]

print("| statistic | target | tolerance | measured | within |")
print("| --- | --- | --- | --- | --- |")
for r in rows:
    print("| " + " | ".join(r) + " |")
print()
print("Per layer (layer: measured retrieval share / DuoAttention; VS capture median / MInference; "
      "cross-step overlap; recall):")
for l in range(len(duo_layer)):
    v = vs.get("per_layer_median", [None] * 32)[l]
    print(f"  {l:2d}: {f(rh['per_layer_share'][l], 2)} / {duo_layer[l]:.2f};  {f(v)} / "
          f"{mi_layer_median[l]:.3f};  {pct(cso['per_layer'][l])};  {f(rec['per_layer'][l])}")
