#!/usr/bin/env bash
# Installs kiln's build and run dependencies from Debian 12's packages (run as root). Skips apt when all are present.
set -euo pipefail
packages=(build-essential cmake ninja-build pkg-config libopenblas-openmp-dev libgtest-dev libgmock-dev libbenchmark-dev
          libcli11-dev nlohmann-json3-dev zlib1g-dev libdnnl-dev libhwy-dev libgloo-dev dataset-fashion-mnist)
# Optional: Debian's CPU PyTorch, used by bench/ and scripts/gen_*_reference.py (not by the build or tests).
if [[ "${KILN_WITH_TORCH:-0}" == "1" ]]; then packages+=(python3-torch); fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "kiln: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
