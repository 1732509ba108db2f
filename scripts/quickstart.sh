#!/usr/bin/env bash
# Quick start, step 1: install dependencies, build, run the default job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
SYSTEMC_DISABLE_COPYRIGHT_MESSAGE=1 ./build/bin/sparsepim "$@"
