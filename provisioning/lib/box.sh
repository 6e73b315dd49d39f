# shellcheck shell=bash
# Shared by provision.sh and update.sh: the box's fixed layout, a root prefix, dry runs, and
# a runner for every command that changes the system. Sourced, not run.
#
# ROOT      files are written under this prefix ("" on a real box; a scratch folder in tests)
# DRY_RUN   1: print every step and command, change nothing
# RUNNER    empty: run commands directly; else a program that gets the command as its
#           arguments (tests pass a recorder that fakes apt, raspi-config, useradd, nmcli,
#           systemctl, pip)

# shellcheck disable=SC2034  # used by the scripts that source this file
BOX_OPT=/opt/dystonia-box
# shellcheck disable=SC2034
BOX_ETC=/etc/dystonia-box
# shellcheck disable=SC2034
BOX_DATA=/var/lib/dystonia-box
# shellcheck disable=SC2034
BOX_USER=dystonia
# shellcheck disable=SC2034
BOX_UNITS=(dystonia-box.service dystonia-box-reset.service dystonia-box-backup.service
  dystonia-box-backup.timer dystonia-box-cleanup.service dystonia-box-cleanup.timer)
ROOT=${ROOT:-}
DRY_RUN=${DRY_RUN:-0}
RUNNER=${RUNNER:-}

step() { printf '\n==> %s\n' "$*"; }
say() { printf '    %s\n' "$*"; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# run CMD...: a command that changes the system, through the runner; printed in a dry run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would run: $(printf '%q ' "$@")"
    return 0
  fi
  say "+ $*"
  if [ -n "$RUNNER" ]; then
    "$RUNNER" "$@"
  else
    "$@"
  fi
}

# check CMD...: a question to the system (exit status only); false in a dry run.
check() {
  if [ "$DRY_RUN" = 1 ]; then
    return 1
  fi
  if [ -n "$RUNNER" ]; then
    "$RUNNER" "$@" >/dev/null 2>&1
  else
    "$@" >/dev/null 2>&1
  fi
}

# put_file MODE DEST: write standard input to $ROOT/DEST atomically (temporary file, rename).
put_file() {
  local mode=$1 dest=$ROOT$2 tmp
  if [ "$DRY_RUN" = 1 ]; then
    say "would write $2 (mode $mode)"
    cat >/dev/null
    return 0
  fi
  mkdir -p "$(dirname "$dest")"
  tmp=$(mktemp "$dest.XXXXXX")
  cat >"$tmp"
  chmod "$mode" "$tmp"
  mv -f "$tmp" "$dest"
  say "wrote $2"
}

# make_dir MODE DIR: create $ROOT/DIR.
make_dir() {
  if [ "$DRY_RUN" = 1 ]; then
    say "would create folder $2 (mode $1)"
    return 0
  fi
  mkdir -p "$ROOT$2"
  chmod "$1" "$ROOT$2"
}

# switch_link TARGET LINK: point $ROOT/LINK at TARGET in one rename (never a missing link).
switch_link() {
  local target=$1 link=$ROOT$2
  if [ "$DRY_RUN" = 1 ]; then
    say "would point $2 at $target"
    return 0
  fi
  ln -sfn "$target" "$link.new"
  mv -Tf "$link.new" "$link"
  say "$2 -> $target"
}
