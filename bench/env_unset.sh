#!/usr/bin/env bash
# Run bench/train_speed.py with OpenBLAS's overrides removed, for the "variables unset" figures.
#
# This machine's environment sets OPENBLAS_CORETYPE (forcing a kernel, e.g. Haswell) and
# OPENBLAS_L2_SIZE. Unset, OpenBLAS picks the kernel for the CPU it detects (e.g. SkylakeX on an
# AVX-512 CPU). The benchmark itself never changes these variables; only this wrapper does, for the
# process it starts.
#
#   bench/env_unset.sh --epochs 5                                   # uses `python` on PATH
#   PYTHON=../torchvenv/bin/python bench/env_unset.sh --epochs 5 # with the PyTorch comparison
#
# All arguments are passed on to train_speed.py.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${PYTHON:-python}" "$here/train_speed.py" "$@"
