#!/usr/bin/env bash
# Build the ROS 2 interface packages (vision_msgs stand-in, tsjnet_msgs) into a
# virtual environment that holds the ROS 2 wheels from PyPI, so that
#   VENV/bin/python -c "from tsjnet_msgs.msg import FusedFrame"
# works with no sourced setup file.
#
# Usage: scripts/build_interfaces.sh [--dry-run] [VENV_DIR]
#   VENV_DIR   defaults to .venv in the repo root
#   --dry-run  report what would be patched and built, change nothing
#
# Safe to re-run: a stamp keyed on the package sources makes an unchanged
# second run finish in about a second. vision_msgs is built from
# interfaces/vision_msgs only when the environment does not already provide a
# vision_msgs package (for example a sourced ROS distribution).
set -euo pipefail

log() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DRY_RUN=0
VENV_ARG=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    -*) die "unknown option '$arg' (usage: build_interfaces.sh [--dry-run] [VENV_DIR])" ;;
    *) [ -z "$VENV_ARG" ] || die "more than one VENV_DIR given ('$VENV_ARG', '$arg')"; VENV_ARG="$arg" ;;
  esac
done
VENV_ARG="${VENV_ARG:-$REPO_ROOT/.venv}"
[ -d "$VENV_ARG" ] || die "virtual environment '$VENV_ARG' does not exist (create it and install requirements/venv.txt first)"
VENV="$(cd "$VENV_ARG" && pwd -P)"
PY="$VENV/bin/python"
[ -x "$PY" ] || die "'$PY' is not an executable Python; is '$VENV' a virtual environment?"

# Marker text in our vision_msgs package.xml; tells our build apart from a real one.
COMPAT_MARKER="tsjnet_ros compatibility build"
VISION_SRC="$REPO_ROOT/interfaces/vision_msgs"
TSJNET_SRC="$REPO_ROOT/tsjnet_msgs"
STATE_DIR="$VENV/.tsjnet"
STAMP_FILE="$STATE_DIR/interfaces.stamp"

# --- tools -------------------------------------------------------------------
for tool in cmake make; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it (Debian/Ubuntu: apt-get install cmake make)"
done
if ! command -v g++ >/dev/null 2>&1 && ! command -v c++ >/dev/null 2>&1; then
  die "no C++ compiler (g++) found; install it (Debian/Ubuntu: apt-get install g++)"
fi
[ -f "$VENV/share/rosidl_default_generators/package.xml" ] \
  || die "rosidl_default_generators is not installed in '$VENV'; install requirements/venv.txt into it first"

if [ "$DRY_RUN" -eq 0 ]; then
  mkdir -p "$STATE_DIR"
fi
if [ "$DRY_RUN" -eq 0 ] && command -v flock >/dev/null 2>&1; then
  exec 9>"$STATE_DIR/build.lock"
  flock 9
fi

# --- fix the build-machine paths in the wheels' exported CMake files ----------
PY_INCLUDE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')"
NUMPY_INCLUDE="$("$PY" -c 'import numpy; print(numpy.get_include())')" \
  || die "numpy is not importable from '$PY'; install requirements/venv.txt first"
[ -f "$PY_INCLUDE/Python.h" ] || die "Python headers missing ('$PY_INCLUDE/Python.h'); install the Python development package"
WHEEL_PY_INCLUDE="/opt/python/cp311-cp311/include/python3.11"
WHEEL_NUMPY_INCLUDE="/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include"
mapfile -t TO_PATCH < <(grep -rlF --include='*.cmake' -e "$WHEEL_PY_INCLUDE" -e "$WHEEL_NUMPY_INCLUDE" "$VENV/share" 2>/dev/null || true)
if [ "${#TO_PATCH[@]}" -gt 0 ] && [ "$DRY_RUN" -eq 1 ]; then
  log "would rewrite build-machine Python/numpy include paths in ${#TO_PATCH[@]} CMake files under $VENV/share"
elif [ "${#TO_PATCH[@]}" -gt 0 ]; then
  log "rewriting build-machine Python/numpy include paths in ${#TO_PATCH[@]} CMake files under $VENV/share"
  for f in "${TO_PATCH[@]}"; do
    sed -i -e "s|$WHEEL_NUMPY_INCLUDE|$NUMPY_INCLUDE|g" -e "s|$WHEEL_PY_INCLUDE|$PY_INCLUDE|g" "$f"
  done
fi

# --- does the environment already provide vision_msgs? ------------------------
VISION_PROVIDER=""
EXTRA_PREFIXES=""
IFS=':' read -r -a AMENT_PREFIXES <<< "${AMENT_PREFIX_PATH:-}"
for prefix in "${AMENT_PREFIXES[@]}"; do
  [ -n "$prefix" ] && [ -d "$prefix" ] || continue
  [ "$(cd "$prefix" && pwd -P)" = "$VENV" ] && continue
  EXTRA_PREFIXES="${EXTRA_PREFIXES:+$EXTRA_PREFIXES;}$prefix"
  if [ -z "$VISION_PROVIDER" ] && [ -f "$prefix/share/vision_msgs/package.xml" ]; then
    VISION_PROVIDER="$prefix"
  fi
done
if [ -z "$VISION_PROVIDER" ] && [ -f "$VENV/share/vision_msgs/package.xml" ] \
   && ! grep -qF "$COMPAT_MARKER" "$VENV/share/vision_msgs/package.xml"; then
  VISION_PROVIDER="$VENV"
fi

# --- up to date? ----------------------------------------------------------------
# Bump when the build steps below change in a way that needs a rebuild.
BUILD_RECIPE=1
sources_hash() {
  (cd "$REPO_ROOT" \
    && find interfaces/vision_msgs tsjnet_msgs -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum \
    && printf 'recipe=%s python=%s vision_provider=%s\n' "$BUILD_RECIPE" \
         "$("$PY" -c 'import sys; print(sys.version)')" "$VISION_PROVIDER") \
    | sha256sum | cut -d' ' -f1
}
imports_ok() {
  # With everything in the venv the check runs with a bare environment; with an
  # external vision_msgs (a sourced distribution) that environment is needed.
  local -a clean_env=()
  if [ -z "$VISION_PROVIDER" ] || [ "$VISION_PROVIDER" = "$VENV" ]; then
    clean_env=(env -u AMENT_PREFIX_PATH -u PYTHONPATH -u LD_LIBRARY_PATH -u _ROS_WHEELS_BOOTSTRAP_COMPLETE)
  fi
  (cd / && "${clean_env[@]}" "$PY" -c \
    'from tsjnet_msgs.msg import FusedFrame, FusionStatus; from vision_msgs.msg import Detection2DArray' \
    >/dev/null 2>&1)
}
WANT_STAMP="$(sources_hash)"
if [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$WANT_STAMP" ] && imports_ok; then
  log "interface packages are up to date in $VENV"
  exit 0
fi
if [ "$DRY_RUN" -eq 1 ]; then
  if [ -n "$VISION_PROVIDER" ]; then
    log "vision_msgs is provided by $VISION_PROVIDER; would not build the stand-in"
  else
    log "would build vision_msgs (stand-in from interfaces/vision_msgs)"
  fi
  log "would build tsjnet_msgs"
  exit 0
fi

# --- build ------------------------------------------------------------------------
VENV_KEY="$(printf '%s' "$VENV" | sha256sum | cut -c1-12)"
BUILD_ROOT="$REPO_ROOT/build/interfaces/$VENV_KEY"
mkdir -p "$BUILD_ROOT"
# The build tree holds generated packages; keep colcon from ever picking them up.
touch "$REPO_ROOT/build/interfaces/COLCON_IGNORE"
JOBS="$(nproc 2>/dev/null || echo 2)"

export PATH="$VENV/bin:$PATH"
export AMENT_PREFIX_PATH="$VENV${EXTRA_PREFIXES:+:${EXTRA_PREFIXES//;/:}}"
CMAKE_PREFIXES="$VENV${EXTRA_PREFIXES:+;$EXTRA_PREFIXES}"

build_package() {
  local name="$1" src="$2"
  local build_dir="$BUILD_ROOT/$name" build_log="$BUILD_ROOT/$name.log"
  local started=$SECONDS
  log "building $name (log: $build_log)"
  if ! {
    cmake -S "$src" -B "$build_dir" \
      -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF \
      -DCMAKE_INSTALL_PREFIX="$VENV" \
      -DCMAKE_PREFIX_PATH="$CMAKE_PREFIXES" \
      -DPython3_EXECUTABLE="$PY" \
      && cmake --build "$build_dir" -j "$JOBS" \
      && cmake --install "$build_dir"
  } >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2
    die "building $name failed; full log: $build_log"
  fi
  log "installed $name into $VENV ($((SECONDS - started)) s)"
}

if [ -n "$VISION_PROVIDER" ]; then
  log "vision_msgs is provided by $VISION_PROVIDER; not building the stand-in"
else
  build_package vision_msgs "$VISION_SRC"
fi
build_package tsjnet_msgs "$TSJNET_SRC"

imports_ok || die "the interface packages were installed but do not import with '$PY'"
printf '%s\n' "$WANT_STAMP" >"$STAMP_FILE"
log "interface packages ready: tsjnet_msgs and vision_msgs import from $PY"
