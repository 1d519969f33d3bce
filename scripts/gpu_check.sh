#!/usr/bin/env bash
# On a CUDA machine: the CUDA tests (every experiment at smoke scale on the GPU, CPU-vs-CUDA probe
# agreement) and the speed benchmark on the GPU, in one command. Needs a CUDA build of torch:
#   make venv TORCH="torch==2.13.0"   # PyPI's default Linux x86-64 wheel is a CUDA build
#   bash scripts/gpu_check.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-outputs}
PY=${PYTHON:-.venv/bin/python}
"$PY" -c "import torch, sys; ok = torch.cuda.is_available(); print('torch', torch.__version__, 'cuda', ok, torch.cuda.get_device_name(0) if ok else ''); sys.exit(0 if ok else 3)" \
  || { echo "error: no CUDA device visible to torch" >&2; exit 3; }
CI=true "$PY" -m pytest -m cuda -q tests/test_cuda.py
CI=true "$PY" scripts/bench.py --out "$OUT" --device cuda --skip-sweep
