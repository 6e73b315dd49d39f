#!/usr/bin/env bash
# Regenerate the pinned, hash-checked requirement files from pyproject.toml (a developer's
# step after changing dependencies; needs network access to PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
tool=$(mktemp -d)
trap 'rm -rf "$tool"' EXIT
python3 -m venv "$tool"
"$tool/bin/pip" install --quiet uv==0.13.9
compile() {
  "$tool/bin/uv" pip compile --quiet --universal --python-version 3.11 --generate-hashes \
    --no-header --constraint provisioning/requirements/constraints.txt "$@"
}
out=provisioning/requirements
compile pyproject.toml $out/build.in -o $out/runtime.txt
compile pyproject.toml $out/build.in --extra dev --extra export -o $out/dev.txt
echo "wrote $out/runtime.txt $out/dev.txt"
# MediaPipe's reference pipeline lives in its own environment (numpy<2, protobuf<5).
compile $out/mediapipe.in $out/build.in -o $out/mediapipe.txt
echo "wrote $out/mediapipe.txt"
# QUEST+, the reference for bench/zest_bench.py (bench/ only).
compile pyproject.toml $out/questplus.in $out/build.in -o $out/questplus.txt
echo "wrote $out/questplus.txt"
