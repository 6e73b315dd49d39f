#!/usr/bin/env bash
# Set up .venv-questplus: the QUEST+ reference (questplus 2023.1) beside the project's runtime
# packages, pinned and hash-checked, for bench/zest_bench.py. Prints the interpreter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
. provisioning/lib/venv.sh
ensure_venv .venv-questplus provisioning/requirements/questplus.txt >&2
echo "$PWD/.venv-questplus/bin/python"
