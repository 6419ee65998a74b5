#!/usr/bin/env bash
# README command 1: install dependencies, build, then train the default MLP on Fashion-MNIST on the best device.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh --target kiln_cli
build/bin/kiln info
build/bin/kiln train --device auto --out runs/fashion-mlp "$@"
