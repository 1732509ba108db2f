#!/usr/bin/env bash
# Wall time and peak RSS of one decode step per policy (docs/performance.md, "Decode steps"):
# Llama-3.1-8B at 8K, 32K and 128K (131,071: the model's limit minus the step) context, budget 1024, command-level timing for every layer
# (`sparsepim run --steps 1`, one policy per run, 2 stacks so that 128K fits). Prints Markdown.
set -euo pipefail
BIN=${BIN:-$(dirname "$0")/../build/bin/sparsepim}
OUT=$(mktemp -d)
echo "| context | policy | wall s (selection + timing) | timing s | peak RSS MB (selection / timing) | commands | simulated µs |"
echo "|---|---|---|---|---|---|---|"
for ctx in ${CONTEXTS:-8192 32768 131071}; do
  for p in dense topk sparq quest starc tidal lfps starc+tidal starc+lfps; do
    SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 "$BIN" run --context "$ctx" --steps 1 --budget 1024 \
      --stacks 2 --policy "$p" --json --out "$OUT" > "$OUT/s.json"
    python3 - "$OUT/s.json" "$ctx" "$p" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); p = s["policies"][0]
cmds = sum(p["commands"].values())
print(f"| {int(sys.argv[2]) // 1024}K | {sys.argv[3]} | {s['wall_s']:.1f} | {p['sim_wall_s']:.1f} | "
      f"{s['peak_rss_MB']:.0f} / {p['sim_peak_rss_MB']:.0f} | {cmds} | {p['simulated_ns'] / 1e3:.0f} |")
PY
  done
done
rm -rf "$OUT"
