#!/usr/bin/env bash
# Quick start, step 2: build and run the whole test suite through ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" --timeout 600 "$@"
