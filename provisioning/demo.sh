#!/usr/bin/env bash
# The README's first command: set up the runtime environment and run the most complete job
# the box has so far.
set -euo pipefail
cd "$(dirname "$0")/.."
. provisioning/lib/venv.sh
ensure_venv .venv-box provisioning/requirements/runtime.txt
box=.venv-box/bin/dystonia-box
"$box" protocol
