#!/usr/bin/env bash
# Makes bench/.venv-torch: a Python virtual environment with the current PyPI PyTorch (the CPU wheel), the
# second PyTorch that `kiln bench --compare-pytorch` measures against (the first is Debian's python3-torch).
# Never a build or test dependency: kiln builds and tests without it.
#
#   bench/setup_torch_venv.sh            # the CPU wheel from download.pytorch.org, else PyPI's default wheel
#   TORCH_INDEX=default bench/setup_torch_venv.sh   # PyPI's default torch only (CUDA wheels, a few GB)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
venv=${KILN_TORCH_VENV:-$here/.venv-torch}
python=${PYTHON:-/usr/bin/python3}
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [[ ${TORCH_INDEX:-cpu} == default ]] ||
  ! "$venv/bin/python" -m pip install --quiet torch numpy --index-url https://download.pytorch.org/whl/cpu; then
  echo "setup_torch_venv: installing PyPI's default torch wheel" >&2
  "$venv/bin/python" -m pip install --quiet torch numpy
fi
"$venv/bin/python" -c 'import torch; print("torch", torch.__version__, "in", torch.__file__)'
