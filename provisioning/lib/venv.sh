# Shared by the README's commands: a Python 3.11 virtual environment with the project's
# pinned, hash-checked requirements. Sourced, not run.

# Run a command as root (directly, or through sudo).
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, installed only when missing.
ensure_debs() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# The interpreter: python3.11, or python3 when that is 3.11.
find_python() {
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

# ensure_venv DIR LOCKFILE: create DIR if needed and install LOCKFILE (hash-checked) and
# this project (editable, no dependencies). Re-installs only when the lock file changed.
ensure_venv() {
  local venv=$1 lock=$2 python
  if ! python=$(find_python); then
    ensure_debs python3 python3-venv
    python=$(find_python) || { echo "Python 3.11 is required (Debian bookworm's python3)." >&2; return 1; }
  fi
  if ! "$python" -c 'import ensurepip, venv' 2>/dev/null; then
    ensure_debs python3-venv
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "Creating virtual environment $venv"
    "$python" -m venv "$venv"
  fi
  local want stamp="$venv/.installed-lock"
  want="$(sha256sum "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "Installing pinned requirements from $lock"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --require-hashes --no-deps -r "$lock"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
      --no-deps --no-build-isolation --editable .
    echo "$want" >"$stamp"
  fi
}
