#!/usr/bin/env bash
# Turn a fresh Raspberry Pi OS Bookworm (64-bit, Lite) on a Raspberry Pi 5 into a screening
# box, from a copy of this repository on the Pi:
#
#   sudo bash provisioning/provision.sh --country GB [--name dystonia-box-a1b2]
#
# Safe to run again: every step checks what is already in place. --dry-run prints every
# step and command and changes nothing. See docs/operations.md.
# shellcheck source-path=SCRIPTDIR
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
# shellcheck source=lib/box.sh
. "$HERE/lib/box.sh"

usage() {
  cat <<'EOF'
usage: provision.sh [options]
  --dry-run            print every step and command; change nothing
  --root DIR           write files under DIR instead of / (for tests; use with --runner)
  --runner PROGRAM     run system-changing commands (apt-get, raspi-config, useradd, nmcli,
                       systemctl, pip...) through PROGRAM, which gets them as arguments
  --name NAME          box name: Wi-Fi name and http://NAME.local/ (default: kept from the
                       configuration, else dystonia-box-<last 4 of the serial number>)
  --country CC         Wi-Fi country (ISO 3166, e.g. GB); needed for the hotspot
  --wheels BUNDLE      install Python packages from an offline bundle (make-bundle.sh)
                       instead of PyPI
  --landmarks DIR      landmark models made elsewhere by `python -m model_export landmarks`
  --no-hotspot         leave Wi-Fi alone
  --no-start           install and enable the services but do not (re)start them
EOF
}

NAME=""
COUNTRY=""
WHEELS=""
LANDMARKS=""
HOTSPOT=1
START=1
while [ $# -gt 0 ]; do
  case $1 in
    --dry-run) DRY_RUN=1 ;;
    --root) ROOT=$(realpath -m "${2:?--root needs a folder}"); shift ;;
    --runner) RUNNER=$(realpath "${2:?--runner needs a program}"); shift ;;
    --name) NAME=${2:?--name needs a name}; shift ;;
    --country) COUNTRY=${2:?--country needs a code}; shift ;;
    --wheels) WHEELS=$(realpath "${2:?--wheels needs a bundle}"); shift ;;
    --landmarks) LANDMARKS=$(realpath "${2:?--landmarks needs a folder}"); shift ;;
    --no-hotspot) HOTSPOT=0 ;;
    --no-start) START=0 ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown option $1" ;;
  esac
  shift
done

DEBS=(python3 python3-venv python3-pip python3-picamera2 python3-lgpio i2c-tools
  raspi-utils-core curl sqlite3 network-manager dnsmasq-base avahi-daemon libnss-mdns)
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$REPO/pyproject.toml")
LOCK=$REPO/provisioning/requirements/runtime.txt
CONFIG=$BOX_ETC/config.toml
PSK_FILE=$BOX_ETC/hotspot-passphrase
HOTSPOT_CON=dystonia-hotspot
MODELS=$BOX_OPT/models
WARNINGS=()

# The installed software's identity: the lock file and every source file of the runtime.
source_hash() {
  (cd "$REPO" && find device pyproject.toml provisioning/requirements/runtime.txt -type f \
    ! -path '*/__pycache__/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-12)
}

box_name() {
  if [ -n "$NAME" ]; then
    echo "$NAME"
  elif [ -f "$ROOT$CONFIG" ] && grep -qm1 '^name = "' "$ROOT$CONFIG"; then
    sed -n 's/^name = "\(.*\)"$/\1/p' "$ROOT$CONFIG" | head -n1
  else
    local serial=""
    if [ -r "$ROOT/proc/device-tree/serial-number" ]; then
      serial=$(tr -d '\0' <"$ROOT/proc/device-tree/serial-number")
    elif [ -r "$ROOT/etc/machine-id" ]; then
      serial=$(cat "$ROOT/etc/machine-id")
    fi
    [ -n "$serial" ] || serial=0000
    echo "dystonia-box-${serial: -4}" | tr '[:upper:]' '[:lower:]'
  fi
}

preflight() {
  step "Checking this machine"
  if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
    die "run as root: sudo bash $0 $*"
  fi
  local release=""
  [ -r "$ROOT/etc/os-release" ] && release=$(sed -n 's/^VERSION_CODENAME=//p' "$ROOT/etc/os-release")
  if [ "$release" != bookworm ]; then
    say "note: this is made for Raspberry Pi OS Bookworm; found '${release:-unknown}'"
  fi
  [[ $BOX_NAME =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] ||
    die "box name '$BOX_NAME' must be lower-case letters, digits and '-' (it becomes the host name)"
  say "box name $BOX_NAME, software $VERSION ($SOURCE_HASH)"
}

packages() {
  step "Debian packages: ${DEBS[*]}"
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${DEBS[@]}"
}

interfaces() {
  step "Enabling I2C and the camera; Wi-Fi country"
  run raspi-config nonint do_i2c 0
  # Bookworm finds the camera module by itself when camera_auto_detect=1 is in config.txt.
  local boot=/boot/firmware/config.txt
  if [ -f "$ROOT$boot" ] && grep -q '^camera_auto_detect=1' "$ROOT$boot"; then
    say "camera detection already on in $boot"
  elif [ "$DRY_RUN" = 1 ]; then
    say "would set camera_auto_detect=1 in $boot"
  else
    mkdir -p "$(dirname "$ROOT$boot")"
    touch "$ROOT$boot"
    sed -i '/^camera_auto_detect=/d' "$ROOT$boot"
    echo 'camera_auto_detect=1' >>"$ROOT$boot"
    say "set camera_auto_detect=1 in $boot (takes effect at the next boot)"
  fi
  if [ -n "$COUNTRY" ]; then
    run raspi-config nonint do_wifi_country "$COUNTRY"
  fi
}

system_user() {
  step "System user $BOX_USER (groups gpio, i2c, video, audio)"
  if grep -q "^$BOX_USER:" "$ROOT/etc/passwd" 2>/dev/null; then
    say "user $BOX_USER exists"
  else
    run useradd --system --user-group --home-dir "$BOX_DATA" --no-create-home \
      --shell /usr/sbin/nologin "$BOX_USER"
  fi
  run usermod --append --groups gpio,i2c,video,audio "$BOX_USER"
}

python_env() {
  VENV=$BOX_OPT/venvs/$VERSION-$SOURCE_HASH
  step "Python environment $VENV (with Debian's picamera2 and lgpio)"
  if [ -f "$ROOT$VENV/.installed" ]; then
    say "already installed"
  else
    local unpacked=""
    if [ -n "$WHEELS" ]; then
      unpacked=$(mktemp -d)
      trap 'rm -rf "$unpacked"; trap - RETURN' RETURN
      tar -xzf "$WHEELS" -C "$unpacked" || die "$WHEELS: not a readable bundle"
      (cd "$unpacked" && sha256sum --quiet --strict -c SHA256SUMS) ||
        die "$WHEELS is damaged (SHA-256 differs); nothing was installed"
      say "bundle $(cat "$unpacked/VERSION"): every file's SHA-256 checked"
    fi
    # Only writes inside the new folder: run directly, also in tests.
    if [ "$DRY_RUN" = 1 ]; then
      say "would create it: python3 -m venv --system-site-packages $VENV"
    else
      say "+ python3 -m venv --system-site-packages --clear $ROOT$VENV"
      python3 -m venv --system-site-packages --clear "$ROOT$VENV"
    fi
    if [ -n "$WHEELS" ]; then
      run "$ROOT$VENV/bin/pip" install --disable-pip-version-check --no-index \
        --find-links "$unpacked/wheels" --require-hashes --no-deps -r "$unpacked/requirements.txt"
    else
      run "$ROOT$VENV/bin/pip" install --disable-pip-version-check --require-hashes \
        --no-deps -r "$LOCK"
      run "$ROOT$VENV/bin/pip" install --disable-pip-version-check --no-deps \
        --no-build-isolation "$REPO"
    fi
    run "$ROOT$VENV/bin/python" -c 'import picamera2, lgpio, device'
    if [ "$DRY_RUN" = 0 ]; then
      date -u +%FT%TZ >"$ROOT$VENV/.installed"
    fi
  fi
  switch_link "$VENV" "$BOX_OPT/current"
}

autoencoder_models() {
  local src=$REPO/device/models dest=$MODELS/autoencoder files
  step "Autoencoder models -> $dest (SHA-256 checked)"
  mapfile -t files < <(python3 "$HERE/lib/check_hashes.py" card-files "$src") ||
    die "$src/model_card.json does not name its model files"
  local file
  for file in "${files[@]}"; do
    [ -f "$src/$file" ] || die "$src/$file is named in model_card.json but missing"
  done
  if [ "$DRY_RUN" = 1 ]; then
    say "would copy model_card.json and ${#files[@]} models (${files[0]} ...) from $src,"
    say "write SHA256SUMS from the originals and check the copies against it"
    return 0
  fi
  local stage
  stage=$(mktemp -d)
  trap 'rm -rf "$stage"; trap - RETURN' RETURN
  cp "$src/model_card.json" "${files[@]/#/$src/}" "$stage/"
  python3 "$HERE/lib/check_hashes.py" write "$stage" model_card.json "${files[@]}"
  if cmp -s "$stage/SHA256SUMS" "$ROOT$dest/SHA256SUMS" &&
    python3 "$HERE/lib/check_hashes.py" verify "$ROOT$dest"; then
    say "in place and unchanged"
    return 0
  fi
  mkdir -p "$ROOT$dest.new"
  cp "$stage"/* "$ROOT$dest.new/"
  python3 "$HERE/lib/check_hashes.py" verify "$ROOT$dest.new" || die "copying the models failed"
  rm -rf "$ROOT$dest.old"
  [ ! -d "$ROOT$dest" ] || mv "$ROOT$dest" "$ROOT$dest.old"
  mv "$ROOT$dest.new" "$ROOT$dest"
  rm -rf "$ROOT$dest.old"
  say "installed ${#files[@]} models, SHA-256 checked"
}

landmark_models() {
  local dest=$MODELS/landmarks
  step "Landmark models -> $dest (SHA-256 checked)"
  if [ -n "$LANDMARKS" ]; then
    python3 "$HERE/lib/check_hashes.py" verify "$LANDMARKS" || die "$LANDMARKS: SHA-256 check failed"
    if [ "$DRY_RUN" = 1 ]; then
      say "would copy $LANDMARKS to $dest and check the copy"
      return 0
    fi
    rm -rf "$ROOT$dest.new"
    mkdir -p "$(dirname "$ROOT$dest")"
    cp -r "$LANDMARKS" "$ROOT$dest.new"
    python3 "$HERE/lib/check_hashes.py" verify "$ROOT$dest.new" || die "copying $LANDMARKS failed"
    rm -rf "$ROOT$dest"
    mv "$ROOT$dest.new" "$ROOT$dest"
    say "installed from $LANDMARKS"
  elif [ -d "$ROOT$dest" ] && python3 "$HERE/lib/check_hashes.py" verify "$ROOT$dest"; then
    say "in place and their SHA-256 match"
  elif [ "$DRY_RUN" = 1 ]; then
    say "if this version's model_export has the 'landmarks' command, would run:"
    say "  $VENV/bin/python -m model_export landmarks --out $dest"
    say "(it fetches the pinned MediaPipe release's models, quantises them and writes their"
    say "SHA-256), then check every file against the hashes it wrote; else warn and go on"
  elif check "$ROOT$VENV/bin/python" -m model_export landmarks --help; then
    run "$ROOT$VENV/bin/python" -m model_export landmarks --out "$ROOT$dest"
    python3 "$HERE/lib/check_hashes.py" verify "$ROOT$dest" ||
      die "the landmark models written by model_export fail their SHA-256 check"
  else
    WARNINGS+=("no landmark models: the box cannot turn camera video into landmarks until you run this again with --landmarks DIR")
    say "SKIPPED: model_export has no 'landmarks' command in this version (see the end)"
  fi
}

configuration() {
  step "Configuration $CONFIG"
  if [ -f "$ROOT$CONFIG" ]; then
    say "kept (delete it and run again for a fresh one)"
  else
    sed -e "s/@NAME@/$BOX_NAME/" -e "s|@MODELS@|$MODELS/autoencoder|" -e "s|@LANDMARKS@|$MODELS/landmarks|" \
      -e "s/@DATE@/$(date -u +%F)/" "$HERE/config.toml.in" | put_file 0644 "$CONFIG"
  fi
  run "$ROOT$BOX_OPT/current/bin/dystonia-box" --config "$ROOT$CONFIG" config
}

data_dir() {
  step "Data directory $BOX_DATA"
  make_dir 0750 "$BOX_DATA"
  run chown "$BOX_USER:$BOX_USER" "$ROOT$BOX_DATA"
}

hotspot() {
  step "Wi-Fi hotspot '$BOX_NAME' (NetworkManager)"
  if [ "$HOTSPOT" = 0 ]; then
    say "left alone (--no-hotspot)"
    return 0
  fi
  if [ -z "$COUNTRY" ]; then
    WARNINGS+=("Wi-Fi country not given: the hotspot needs --country CC once")
  fi
  if [ -s "$ROOT$PSK_FILE" ]; then
    PSK=$(cat "$ROOT$PSK_FILE")
    say "passphrase kept from $PSK_FILE"
  elif [ "$DRY_RUN" = 1 ]; then
    PSK="<made on this box at the first real run>"
    say "would make a random 16-character passphrase and keep it in $PSK_FILE (mode 0600)"
  else
    PSK=$(python3 -c 'import secrets; a = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"; print("".join(secrets.choice(a) for _ in range(16)))')
    printf '%s\n' "$PSK" | put_file 0600 "$PSK_FILE"
  fi
  local settings=(802-11-wireless.mode ap 802-11-wireless.band bg 802-11-wireless.ssid "$BOX_NAME"
    ipv4.method shared ipv6.method ignore wifi-sec.key-mgmt wpa-psk wifi-sec.psk "$PSK"
    connection.autoconnect yes)
  if check nmcli connection show "$HOTSPOT_CON"; then
    run nmcli connection modify "$HOTSPOT_CON" "${settings[@]}"
  else
    run nmcli connection add type wifi ifname wlan0 con-name "$HOTSPOT_CON" "${settings[@]}"
  fi
  if [ "$START" = 1 ]; then
    say "bringing the hotspot up drops any Wi-Fi client connection of wlan0"
    run nmcli connection up "$HOTSPOT_CON"
  fi
}

mdns() {
  step "mDNS: http://$BOX_NAME.local/ (avahi)"
  run hostnamectl set-hostname "$BOX_NAME"
  if [ "$DRY_RUN" = 1 ]; then
    say "would map 127.0.1.1 to $BOX_NAME in /etc/hosts"
  elif grep -q '^127\.0\.1\.1' "$ROOT/etc/hosts" 2>/dev/null; then
    sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$BOX_NAME/" "$ROOT/etc/hosts"
  else
    mkdir -p "$ROOT/etc"
    printf '127.0.1.1\t%s\n' "$BOX_NAME" >>"$ROOT/etc/hosts"
  fi
  sed "s/@NAME@/$BOX_NAME/" "$HERE/avahi-http.service.in" |
    put_file 0644 /etc/avahi/services/dystonia-box.service
  run systemctl enable --now avahi-daemon.service
}

services() {
  step "systemd units: ${BOX_UNITS[*]}"
  local unit
  for unit in "${BOX_UNITS[@]}"; do
    put_file 0644 "/etc/systemd/system/$unit" <"$REPO/systemd/$unit"
  done
  run systemctl daemon-reload
  run systemctl enable dystonia-box.service dystonia-box-reset.service \
    dystonia-box-backup.timer dystonia-box-cleanup.timer
  if [ "$START" = 1 ]; then
    run systemctl start dystonia-box-backup.timer dystonia-box-cleanup.timer
    run systemctl restart dystonia-box.service
    run systemctl is-active --quiet dystonia-box.service ||
      die "dystonia-box.service did not start: journalctl -u dystonia-box -n 50"
  fi
}

summary() {
  step "Done"
  local warning
  for warning in "${WARNINGS[@]}"; do
    say "WARNING: $warning"
  done
  cat <<EOF

  The box's page:   http://$BOX_NAME.local/   (on its hotspot also http://10.42.0.1/)
  Wi-Fi name:       $BOX_NAME
  Wi-Fi passphrase: ${PSK:-(hotspot not set up)}

  First clinician account: the one-time code is on the console and in
    journalctl -u dystonia-box | grep 'one-time code'
EOF
  if [ "$DRY_RUN" = 0 ] && [ -z "$ROOT" ] && [ "$START" = 1 ]; then
    journalctl -u dystonia-box -o cat --no-pager 2>/dev/null | grep -m1 'one-time code' || true
  fi
}

BOX_NAME=$(box_name)
SOURCE_HASH=$(source_hash)
VENV=""
PSK=""
[ "$DRY_RUN" = 0 ] || printf 'DRY RUN: nothing is changed; every step is printed.\n'
preflight "$@"
packages
interfaces
system_user
python_env
autoencoder_models
landmark_models
configuration
data_dir
hotspot
mdns
services
summary
