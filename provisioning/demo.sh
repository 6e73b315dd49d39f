#!/usr/bin/env bash
# The README's first command: set up the runtime environment, run a complete quick screen on
# simulated hardware (a synthetic pianist), then serve the box's page with that session.
set -euo pipefail
cd "$(dirname "$0")/.."
. provisioning/lib/venv.sh
ensure_venv .venv-box provisioning/requirements/runtime.txt
box=(.venv-box/bin/dystonia-box --config provisioning/demo.toml --data-dir .demo-data)
"${box[@]}" demo
echo
echo "Open http://127.0.0.1:8080/ and sign in as 'demo' (password printed above on the first"
echo "run; or make an account: ${box[*]} user add NAME). Ctrl-C stops the box."
exec "${box[@]}" serve
