#!/usr/bin/env bash
# The measurement behind the LFPS defaults of configs/policies/default.json (docs/accuracy.md,
# "Choosing the LFPS parameters"): recall and keys scored per step of lfps over its parameters,
# on synthetic Llama-3.1-8B (8K context, 32 decode steps, budget 1024) and on the four real traces
# (budget 32). One line per setting: source, w, window, N, recall, top-B overlap, keys/step.
set -euo pipefail
BIN=${BIN:-$(dirname "$0")/../build/bin/sparsepim}
SHARED=${SHARED:-$(dirname "$0")/../../shared}
run() {  # source-args budget w window N
  local src=$1 budget=$2 w=$3 win=$4 n=$5
  "$BIN" accuracy $src --policy lfps --budget "$budget" --json \
    --policy-set lfps.expansion="$w" --policy-set lfps.recent_window="$win" \
    --policy-set lfps.refresh_interval="$n" |
    python3 -c "import json,sys; r=json.load(sys.stdin)[0]; print('$w $win $n %.4f %.4f %.0f' % (r['recall'], r['topk_overlap'], r['keys_scored_per_step']))"
}
for setting in "0 64 16" "1 64 16" "2 64 16" "4 64 16" "1 16 16" "1 256 16" "1 64 4" "1 64 64" "1 64 0"; do
  set -- $setting
  echo "synthetic-8K $(run "--model llama-3.1-8b --context 8192 --steps 32" 1024 "$1" "$2" "$3")"
  for s in 1 2 3 4; do
    echo "trace-seed$s $(run "--trace $SHARED/traces/stories260k-seed$s" 32 "$1" "$2" "$3")"
  done
done
