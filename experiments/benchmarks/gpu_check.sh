#!/usr/bin/env bash
# Run the mfbd benchmark table on an accelerator, in under 5 minutes (quick mode).
#
#   bash experiments/benchmarks/gpu_check.sh                       # GPU/TPU machine
#   JAX_PLATFORMS=cpu bash experiments/benchmarks/gpu_check.sh     # the same on CPU
#
# Installs nothing (the GPU machine may have no network): it needs a Python with
# jax (CUDA or TPU build), optax, chex, numpy and matplotlib. Set PYTHON to pick
# the interpreter (default: .venv/bin/python if present, else python3). Results go
# to $OUT if set (the device runner collects it), else experiments/benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/../.."

if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
OUT_DIR="${OUT:-experiments/benchmarks/results}"
LIMIT="${GPU_CHECK_SECONDS:-290}"

if ! "$PYTHON" -c "import jax, optax, chex, numpy, matplotlib" 2>/dev/null; then
  echo "gpu_check: $PYTHON lacks one of jax, optax, chex, numpy, matplotlib;" \
       "install them (pip install -e '.[cuda12]' on a machine with network) or set PYTHON." >&2
  exit 2
fi

BACKEND=$("$PYTHON" -c "import jax; print(jax.default_backend())")
echo "gpu_check: backend=$BACKEND devices=$("$PYTHON" -c "import jax; print(jax.devices())")"
if [[ "$BACKEND" == "cpu" && "${JAX_PLATFORMS:-}" != "cpu" ]]; then
  echo "gpu_check: JAX sees no accelerator. Install a CUDA/TPU build of jax (e.g. pip install -e '.[cuda12]')," \
       "check nvidia-smi, or run with JAX_PLATFORMS=cpu to do the quick table on CPU." >&2
  exit 3
fi
if [[ "$BACKEND" != "cpu" ]]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
fi

# The benchmarks measure their own memory; keep JAX from grabbing 75% of the GPU up front.
export XLA_PYTHON_CLIENT_PREALLOCATE=false
# On CPU the quick table takes longer than 5 minutes on a small machine; no limit there.
if [[ "$BACKEND" == "cpu" ]]; then LIMIT=0; fi
timeout "$LIMIT" "$PYTHON" -m experiments.benchmarks --quick --out "$OUT_DIR"
