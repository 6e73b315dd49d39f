#!/usr/bin/env bash
# Build an offline update bundle on a workstation with network access (never on the box):
# the pinned runtime wheels for the Pi (Python 3.11, aarch64), hash-checked by pip, plus this
# checkout as a wheel. The box installs it with provisioning/update.sh BUNDLE.
#
#   bash provisioning/make-bundle.sh [--out FILE] [--dry-run]
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=lib/box.sh
. "$HERE/lib/box.sh"

OUT=""
PYTHON=${PYTHON:-python3}
while [ $# -gt 0 ]; do
  case $1 in
    --out) OUT=$(realpath -m "${2:?--out needs a file}"); shift ;;
    --dry-run) DRY_RUN=1 ;;
    --runner) RUNNER=$(realpath "${2:?--runner needs a program}"); shift ;;
    -h | --help) sed -n '2,6p' "$0"; exit 0 ;;
    *) die "unknown option $1" ;;
  esac
  shift
done

VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
REVISION=$(git -C "$REPO" rev-parse --short=12 HEAD 2>/dev/null || date -u +%Y%m%d%H%M%S)
LABEL=$VERSION-$REVISION
OUT=${OUT:-$PWD/dystonia-box-update-$LABEL.tar.gz}
LOCK=$REPO/provisioning/requirements/runtime.txt
# The box: Raspberry Pi OS Bookworm, 64-bit ARM, CPython 3.11.
PLATFORM=(--platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64
  --platform manylinux_2_28_aarch64 --platform manylinux_2_34_aarch64 --python-version 3.11
  --implementation cp --abi cp311 --abi abi3 --abi none --only-binary=:all:)

step "Update bundle $LABEL -> $OUT"
if [ "$DRY_RUN" = 1 ]; then
  stage=/tmp/bundle-stage
else
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/wheels"
fi

step "Pinned runtime wheels for the Pi (pip checks every SHA-256 of $LOCK)"
run "$PYTHON" -m pip download --disable-pip-version-check --require-hashes --no-deps \
  "${PLATFORM[@]}" -r "$LOCK" -d "$stage/wheels"

step "This checkout as a wheel"
run "$PYTHON" -m pip wheel --disable-pip-version-check --no-deps --no-build-isolation \
  -w "$stage/wheels" "$REPO"

step "Requirements, version and SHA-256 list"
if [ "$DRY_RUN" = 1 ]; then
  say "would write requirements.txt ($LOCK plus dystonia-box==$VERSION with its hash),"
  say "VERSION ($LABEL), SHA256SUMS of every file, and pack them into $OUT"
  exit 0
fi
cp "$LOCK" "$stage/requirements.txt"
for wheel in "$stage"/wheels/dystonia_box-*.whl; do
  [ -f "$wheel" ] || continue
  printf 'dystonia-box==%s \\\n    --hash=sha256:%s\n' "$VERSION" \
    "$(sha256sum "$wheel" | cut -d' ' -f1)" >>"$stage/requirements.txt"
done
echo "$LABEL" >"$stage/VERSION"
sums=$(mktemp)
(cd "$stage" && find . -type f -printf '%P\n' | sort | xargs -r -d '\n' sha256sum >"$sums")
mv "$sums" "$stage/SHA256SUMS"
mkdir -p "$(dirname "$OUT")"
tar -czf "$OUT.part" -C "$stage" .
mv -f "$OUT.part" "$OUT"
say "wrote $OUT ($(du -h "$OUT" | cut -f1))"
