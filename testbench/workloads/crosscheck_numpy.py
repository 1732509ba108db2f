#!/usr/bin/python3
"""Independent cross-check of `sparsepim stats` and `sparsepim workload --export` with NumPy
(not part of the product; run by ctest when /usr/bin/python3 has numpy).

1. A shared trace: recompute with NumPy (float64) the last-32-token mass, the sink mass, the
   top-k recall and the cross-step top-k overlap per layer, and compare with the JSON of
   `sparsepim stats --trace`.
2. An exported synthetic trace (float16 and float32): numpy.load reads it, shapes and meta.json
   agree, float16 equals float32 to half precision, and the statistics recomputed from the
   float32 export match `sparsepim stats --model` on the same workload.

usage: crosscheck_numpy.py SPARSEPIM_BINARY SHARED_DIR SCRATCH_DIR
"""
import json
import os
import shutil
import subprocess
import sys

import numpy as np


def stats(binary, *args):
    out = subprocess.run([binary, "stats", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def numpy_stats(d, first_row, recall_k, overlap_k, window=32, sinks=4):
    q = np.load(os.path.join(d, "q.npy")).astype(np.float64)
    k = np.load(os.path.join(d, "k.npy")).astype(np.float64)
    T, L, H, D = q.shape
    G = H // k.shape[2]
    res = {"last": [], "sink": [], "recall": [], "overlap": []}
    for l in range(L):
        last, sink, rec, ovl = [], [], [], []
        for h in range(H):
            prev = None
            for t in range(first_row, T):
                s = k[: t + 1, l, h // G, :] @ q[t, l, h] / np.sqrt(D)
                p = np.exp(s - s.max())
                p /= p.sum()
                last.append(p[-window:].sum())
                sink.append(p[:sinks].sum())
                # Top-k: score descending, ties to the lower index (stable sort of -s).
                order = np.argsort(-s, kind="stable")
                rec.append(p[order[:recall_k]].sum())
                top = set(order[:overlap_k].tolist())
                if prev is not None:
                    ovl.append(len(top & prev) / overlap_k)
                prev = top
        res["last"].append(np.mean(last))
        res["sink"].append(np.mean(sink))
        res["recall"].append(np.mean(rec))
        res["overlap"].append(np.mean(ovl))
    return res


def compare(name, ours, theirs, tol):
    ours = np.array(ours, dtype=float)
    theirs = np.array(theirs, dtype=float)
    err = np.max(np.abs(ours - theirs))
    status = "ok" if err <= tol else "MISMATCH"
    print(f"{name:28s} max |diff| {err:.2e} (tol {tol:.0e}) {status}")
    return err <= tol


def main():
    binary, shared, scratch = sys.argv[1:4]
    ok = True

    trace = os.path.join(shared, "traces", "stories260k-seed1")
    j = stats(binary, "--trace", trace, "--recall-k", "8", "--overlap-k", "4", "--tidal-k", "4")
    first = j["decode_steps"]["first_row"]
    n = numpy_stats(trace, first, 8, 4)
    ok &= compare("trace last-32 mass", n["last"], j["last_window_mass"]["per_layer"], 1e-6)
    ok &= compare("trace sink mass", n["sink"], j["sink_mass"]["per_layer"], 1e-6)
    ok &= compare("trace recall@8", n["recall"], j["recall"]["per_layer"], 1e-6)
    # FP32 scores in sparsepim vs float64 here: a near-tie may swap one member of a top-4 set.
    ok &= compare("trace overlap@4", n["overlap"], j["cross_step_overlap"]["per_layer"], 2e-3)

    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    d32, d16 = os.path.join(scratch, "f32"), os.path.join(scratch, "f16")
    common = ["--model", "stories260k", "--context", "160", "--steps", "6", "--seed", "9"]
    for d, dt in ((d32, "float32"), (d16, "float16")):
        subprocess.run([binary, "workload", *common, "--export", d, "--dtype", dt], check=True,
                       capture_output=True)
    meta = json.load(open(os.path.join(d32, "meta.json")))
    q32, q16 = np.load(os.path.join(d32, "q.npy")), np.load(os.path.join(d16, "q.npy"))
    k32 = np.load(os.path.join(d32, "k.npy"))
    shape_ok = (q32.shape == (166, 5, 8, 8) and k32.shape == (166, 5, 4, 8)
                and q32.dtype == np.float32 and q16.dtype == np.float16
                and meta["steps"] == 166 and meta["kv_heads"] == 4 and meta["dtype"] == "float32")
    print(f"{'export shapes/meta/dtypes':28s} {'ok' if shape_ok else 'MISMATCH'}")
    ok &= shape_ok
    ok &= compare("export float16 vs float32", (q16.astype(np.float32) - q32) /
                  np.maximum(np.abs(q32), 1e-3), np.zeros_like(q32), 1e-3)
    direct = stats(binary, *common, "--recall-k", "16", "--overlap-k", "8", "--tidal-k", "8")
    n = numpy_stats(d32, 160, 16, 8)
    ok &= compare("generated recall@16", n["recall"], direct["recall"]["per_layer"], 1e-5)
    ok &= compare("generated last-32 mass", n["last"], direct["last_window_mass"]["per_layer"], 1e-5)
    print("crosscheck:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
