#!/usr/bin/env bash
# Installs (or updates) the art2mus kiosk on an Ubuntu 22.04/24.04 or JetPack 6 box, as a systemd service.
#
#   sudo deploy/install.sh [CHECKOUT]        CHECKOUT: the art2mus source folder (default: this script's)
#   deploy/install.sh --print-config [CHECKOUT]   only print the config a fresh install would write
#
# Safe to run again: that is how a box is updated. It never deletes anything it did not create, never
# overwrites /etc/art2mus/config.yaml, and keeps a copy of any installed file it replaces (under
# /var/backups/art2mus/). It does not start the service: check the box first (see the steps at the end).
# Guide: docs/DEPLOY.md.
set -euo pipefail

PRINT_CONFIG=0
if [[ ${1:-} == --print-config ]]; then
    PRINT_CONFIG=1
    shift
fi
SRC=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/..}" && pwd)
PYTHON=/usr/bin/python3                             # the system's: JetPack's TensorRT/OpenCV are built for it
VENV=/opt/art2mus/venv
CONFIG=/etc/art2mus/config.yaml
STATE=/var/lib/art2mus                              # StateDirectory= of the unit
CACHE=/var/cache/art2mus                            # CacheDirectory= of the unit
UNIT_DIR=/etc/systemd/system
BACKUP=/var/backups/art2mus/$(date +%Y%m%d-%H%M%S)
STAGE=""

say() { printf '\n==> %s\n' "$*"; }
warn() { printf 'WARNING: %s\n' "$*" >&2; }
die() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }
cleanup() { if [[ -n $STAGE ]]; then rm -rf -- "$STAGE"; fi; }   # only the copy made below
trap cleanup EXIT

# install_file SOURCE TARGET: copies SOURCE to TARGET (mode 0644); a different TARGET is backed up first.
install_file() {
    local source=$1 target=$2
    if [[ -e $target ]]; then
        if cmp -s "$source" "$target"; then
            echo "unchanged  $target"
            return
        fi
        mkdir -p "$BACKUP$(dirname "$target")"
        cp -a "$target" "$BACKUP$target"
        echo "updated    $target (the old one: $BACKUP$target)"
    else
        echo "installed  $target"
    fi
    install -D -m 0644 "$source" "$target"
}

# The repository's defaults, with the caches and the catalog in the service's own folders.
kiosk_config() {
    sed -e "s#~/\.cache/art2mus#$CACHE#" \
        -e "s#^\(  folder: *\)catalog\( \|\$\)#\1$STATE/catalog\2#" \
        "$SRC/config.yaml"
}

# --- checks --------------------------------------------------------------------------------------
[[ -f $SRC/pyproject.toml && -f $SRC/config.yaml && -d $SRC/deploy/systemd ]] ||
    die "$SRC is not an art2mus checkout (no pyproject.toml, config.yaml or deploy/systemd/)"
if ((PRINT_CONFIG)); then
    kiosk_config
    exit 0
fi
[[ $EUID -eq 0 ]] || die "run it as root: sudo $0 $*"
command -v apt-get >/dev/null || die "this installer is for Ubuntu / JetPack (apt-get not found)"
command -v systemctl >/dev/null || die "systemd is needed (systemctl not found)"
[[ -x $PYTHON ]] || die "$PYTHON not found: apt-get install python3"

if [[ -f /etc/nv_tegra_release ]]; then
    BOX=jetson
elif command -v nvidia-smi >/dev/null && nvidia-smi -L >/dev/null 2>&1; then
    BOX=nvidia
else
    BOX=cpu
fi
say "installing art2mus from $SRC on a '$BOX' box"

# --- system packages -----------------------------------------------------------------------------
say "system packages"
apt-get update
# libportaudio2: sounddevice needs it on Linux (the PyPI wheel brings PortAudio only on macOS/Windows).
# libsndfile1: soundfile's library where its wheel does not bundle one.
apt-get install -y --no-install-recommends python3-venv libportaudio2 libsndfile1

# --- the kiosk user and its folders --------------------------------------------------------------
say "kiosk user and folders"
install_file "$SRC/deploy/systemd/art2mus-sysusers.conf" /etc/sysusers.d/art2mus.conf
install_file "$SRC/deploy/systemd/art2mus-tmpfiles.conf" /etc/tmpfiles.d/art2mus.conf
systemd-sysusers /etc/sysusers.d/art2mus.conf
systemd-tmpfiles --create /etc/tmpfiles.d/art2mus.conf
# systemd creates these at the first start too; now, so the bundle and catalog can be copied in.
install -d -o art2mus -g art2mus -m 0755 "$STATE" "$STATE/catalog" "$CACHE"

# --- the Python environment ----------------------------------------------------------------------
say "Python environment $VENV"
if [[ ! -x $VENV/bin/python ]]; then
    if [[ $BOX == jetson ]]; then
        # JetPack's TensorRT and OpenCV (built with GStreamer, for CSI cameras) are system packages.
        "$PYTHON" -m venv --system-site-packages "$VENV"
    else
        "$PYTHON" -m venv "$VENV"
    fi
else
    echo "exists     $VENV"
fi

# pip builds inside the source folder: build from a copy of the checkout (its files that git does not
# ignore), so the checkout gets no root-owned build/ folder.
STAGE=$(mktemp -d /tmp/art2mus-src.XXXXXX)
if git -C "$SRC" -c safe.directory="$SRC" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    git -C "$SRC" -c safe.directory="$SRC" ls-files -z --cached --others --exclude-standard |
        tar -C "$SRC" --null --ignore-failed-read -T - -cf - | tar -C "$STAGE" -xf -
else
    cp -a "$SRC"/. "$STAGE"
fi

case $BOX in
    nvidia)
        # ONNX Runtime with CUDA/TensorRT and TensorRT from pip; the runtime never needs torch.
        "$VENV/bin/pip" install "${STAGE}[gpu]" ;;
    jetson)
        # Not the gpu extra: pip's tensorrt would be the newest (11.x), which JetPack does not support
        # (JetPack 6 ships TensorRT 10.3, seen here through --system-site-packages). numpy<2: JetPack's
        # OpenCV and TensorRT Python modules are built against Ubuntu 22.04's numpy 1.x.
        "$VENV/bin/pip" install "$STAGE" "numpy<2" ;;
    cpu)
        "$VENV/bin/pip" install "$STAGE" ;;
esac

if [[ $BOX == jetson ]]; then
    if "$PYTHON" -c 'import cv2, sys; sys.exit("GStreamer: YES" not in " ".join(cv2.getBuildInformation().split()))' 2>/dev/null; then
        # The pip wheel has no GStreamer; without it in the venv, JetPack's cv2 is the one imported.
        "$VENV/bin/pip" uninstall -y opencv-python-headless
    else
        warn "the system's OpenCV is missing or has no GStreamer: a CSI camera (nvarguscamerasrc) will not open;" \
             "install JetPack's OpenCV (sudo apt-get install nvidia-jetpack) and run this again. USB cameras work as they are."
    fi
fi
# The service runs it as the kiosk user: check it can (a venv made from a Python under /root cannot).
runuser -u art2mus -- "$VENV/bin/art2mus" --help >/dev/null ||
    die "the art2mus user cannot run $VENV/bin/art2mus (see above); if $VENV was made by hand," \
        "move it away (sudo mv $VENV $VENV.old) and run this again"
echo "installed  $VENV/bin/art2mus"
if [[ ! -e /usr/local/bin/art2mus ]]; then
    ln -s "$VENV/bin/art2mus" /usr/local/bin/art2mus
    echo "installed  /usr/local/bin/art2mus -> $VENV/bin/art2mus"
fi

# --- the service ---------------------------------------------------------------------------------
say "systemd units"
install_file "$SRC/deploy/systemd/art2mus.service" "$UNIT_DIR/art2mus.service"
case $BOX in
    jetson) install_file "$SRC/deploy/systemd/dropins/jetson.conf" "$UNIT_DIR/art2mus.service.d/jetson.conf" ;;
    nvidia)
        if [[ -x /usr/bin/nvidia-modprobe ]]; then
            install_file "$SRC/deploy/systemd/dropins/nvidia-uvm.conf" "$UNIT_DIR/art2mus.service.d/nvidia-uvm.conf"
        fi ;;
esac
systemctl daemon-reload

# --- the config: a technician's file is never overwritten ----------------------------------------
say "config $CONFIG"
install -d -m 0755 "$(dirname "$CONFIG")"
if [[ -e $CONFIG ]]; then
    echo "kept       $CONFIG (yours; compare with the new defaults: diff $CONFIG <($0 --print-config))"
else
    new=$(mktemp "$CONFIG.XXXXXX")
    kiosk_config >"$new"
    chmod 0644 "$new"
    mv "$new" "$CONFIG"
    echo "installed  $CONFIG"
fi
check_config='
import sys
from installation.config import load_config
try:
    load_config(sys.argv[1])
except Exception as exc:
    sys.exit(str(exc))'
if ! "$VENV/bin/python" -c "$check_config" "$CONFIG"; then
    warn "$CONFIG does not load with this version (the lines above say why): fix it before (re)starting the service"
fi

# --- what is left to the technician --------------------------------------------------------------
enabled=$(systemctl is-enabled art2mus 2>/dev/null || true)
cat <<EOF

art2mus is installed ($BOX box). Next steps (docs/DEPLOY.md has the details):
  1. Copy the model bundle to $STATE/bundle and the artwork images to $STATE/catalog, then
       sudo chown -R art2mus:art2mus $STATE
  2. Edit $CONFIG: model.bundle: $STATE/bundle, camera.source, audio.sink, schedule.
     GPU boxes: then build the TensorRT engines on this box, as the kiosk user (\`art2mus build\`).
  3. Check the box as the kiosk user:
       sudo -u art2mus $VENV/bin/art2mus --config $CONFIG doctor
  4. Start it, now and at every boot, and watch it:
       sudo systemctl enable --now art2mus        (after an update: sudo systemctl restart art2mus)
       journalctl -u art2mus -f
       art2mus --config $CONFIG status
EOF
if [[ $enabled == enabled ]]; then
    echo "  (art2mus.service is already enabled: it runs the new version after \`sudo systemctl restart art2mus\`.)"
fi
