#!/usr/bin/env bash
# Offline update of a box from a bundle made by provisioning/make-bundle.sh (a USB stick):
#
#   sudo bash provisioning/update.sh /media/usb/dystonia-box-update-0.2.0-abc.tar.gz
#
# The new version goes into a new virtual environment beside the running one. The service
# is switched over (the /opt/dystonia-box/current symlink) only after the new environment
# passes its checks, and switched back if the restarted service is not healthy. The old
# environment stays until the next update. Never a git pull, never a download.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib/box.sh
. "$HERE/lib/box.sh"

BUNDLE=""
URL=""
KEEP=2
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT=$(realpath -m "${2:?--root needs a folder}"); shift ;;
    --runner) RUNNER=$(realpath "${2:?--runner needs a program}"); shift ;;
    --url) URL=${2:?--url needs an address}; shift ;;
    -h | --help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) die "unknown option $1" ;;
    *) BUNDLE=$(realpath "$1") ;;
  esac
  shift
done
[ -n "$BUNDLE" ] || die "usage: update.sh BUNDLE [--dry-run] [--root DIR] [--runner PROGRAM]"
[ -f "$BUNDLE" ] || die "$BUNDLE: no such file"
if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
  die "run as root: sudo bash $0 $BUNDLE"
fi
CONFIG=$BOX_ETC/config.toml
if [ -z "$URL" ]; then
  port=""
  if [ -f "$ROOT$CONFIG" ]; then
    port=$(sed -n '/^\[web\]/,/^\[/s/^port = \([0-9]*\)/\1/p' "$ROOT$CONFIG" | head -n1)
  fi
  URL=http://127.0.0.1:${port:-80}/login
fi

step "Checking $BUNDLE"
unpacked=$(mktemp -d)
trap 'rm -rf "$unpacked"' EXIT
tar -xzf "$BUNDLE" -C "$unpacked" || die "$BUNDLE: not a readable bundle"
[ -f "$unpacked/SHA256SUMS" ] || die "$BUNDLE: no SHA256SUMS; not an update bundle"
(cd "$unpacked" && sha256sum --quiet --strict -c SHA256SUMS) ||
  die "$BUNDLE is damaged (SHA-256 differs); nothing was changed"
LABEL=$(cat "$unpacked/VERSION")
[[ $LABEL =~ ^[A-Za-z0-9._-]+$ ]] || die "$BUNDLE: bad VERSION '$LABEL'"
say "bundle $LABEL, every file's SHA-256 checked"

OLD=$(readlink "$ROOT$BOX_OPT/current" || true)
NEW=$BOX_OPT/venvs/$LABEL-$(date -u +%Y%m%d%H%M%S)
step "New environment $NEW (currently ${OLD:-none})"
if [ "$DRY_RUN" = 1 ]; then
  say "would create it: python3 -m venv --system-site-packages $NEW"
else
  mkdir -p "$ROOT$BOX_OPT/venvs"
  python3 -m venv --system-site-packages "$ROOT$NEW"
fi
run "$ROOT$NEW/bin/pip" install --disable-pip-version-check --no-index \
  --find-links "$unpacked/wheels" --require-hashes --no-deps -r "$unpacked/requirements.txt"

step "Checking the new environment before switching"
discard_new() {
  [ "$DRY_RUN" = 1 ] || rm -rf "$ROOT$NEW"
}
if ! run "$ROOT$NEW/bin/python" -c 'import device, picamera2, lgpio' ||
  ! run "$ROOT$NEW/bin/dystonia-box" --config "$ROOT$CONFIG" config; then
  discard_new
  die "the new version does not start here (see above); the box still runs ${OLD:-nothing}"
fi

step "Switching over"
healthy() {
  run systemctl restart dystonia-box.service &&
    run systemctl is-active --quiet dystonia-box.service &&
    run curl --fail --silent --show-error --output /dev/null --max-time 5 --retry 12 \
      --retry-delay 5 --retry-connrefused "$URL"
}
switch_link "$NEW" "$BOX_OPT/current"
if ! healthy; then
  if [ -n "$OLD" ]; then
    say "the updated box is not healthy: rolling back to $OLD"
    switch_link "$OLD" "$BOX_OPT/current"
    run systemctl restart dystonia-box.service || true
  fi
  discard_new
  die "update to $LABEL failed its health check; rolled back to ${OLD:-nothing}"
fi

step "Tidying up: keeping the newest $KEEP environments"
if [ "$DRY_RUN" = 1 ]; then
  say "would delete older environments in $BOX_OPT/venvs"
else
  mapfile -t old < <(find "$ROOT$BOX_OPT/venvs" -mindepth 1 -maxdepth 1 -type d \
    -printf '%T@ %p\n' | sort -rn | cut -d' ' -f2- | tail -n +$((KEEP + 1)))
  for dir in "${old[@]}"; do
    [ "$dir" = "$ROOT$NEW" ] || [ "$dir" = "$ROOT$OLD" ] || { rm -rf "$dir" && say "removed $dir"; }
  done
fi
say "the box runs $LABEL (previous: ${OLD:-none})"
