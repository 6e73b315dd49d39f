#!/usr/bin/env bash
# Install everything the tests need (pinned, hash-checked, into .venv) and run lint and tests.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
. provisioning/lib/venv.sh
ensure_venv .venv provisioning/requirements/dev.txt
# The browser tests drive Debian's Chromium (never a browser downloaded by a test tool).
ensure_debs chromium shellcheck systemd
.venv/bin/ruff check .
status=0
.venv/bin/python -m pytest "$@" || status=$?
# pytest exits 5 when it collected no test: that is a failure here too.
exit "$status"
