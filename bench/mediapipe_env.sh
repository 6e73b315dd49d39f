#!/usr/bin/env bash
# Set up .venv-mediapipe: MediaPipe 0.10.18's own pipeline (the reference for bench/ scripts),
# pinned and hash-checked, beside this project. Prints the interpreter's path.
set -euo pipefail
cd "$(dirname "$0")/.."
. provisioning/lib/venv.sh
ensure_venv .venv-mediapipe provisioning/requirements/mediapipe.txt >&2
echo "$PWD/.venv-mediapipe/bin/python"
