#!/usr/bin/env bash
# Packs what scripts/gpu_check.sh needs on a GPU machine that has Python with torch, timm,
# OpenCV and numpy but cannot reach ../shared or a package index, into gpu_pack/ (ignored by
# git; name it in the machine's carried paths):
#   gpu_pack/data/msrs_test/  the MSRS test pairs of ../shared/data/msrs_test as JPEG
#                             (IR grey, visible colour, quality GPU_PACK_JPEG_QUALITY, default 95)
#                             with their YOLO box files; all 313 pairs unless GPU_PACK_PAIRS=N
#                             (the validation split of config/train/msrs_val.txt is always kept)
#   gpu_pack/wheels/          natten 0.21.7 built here from its source release: PyPI has no
#                             binary wheel, and the build here has no CUDA, so the wheel is pure
#                             Python and runs natten's Flex Attention backend on the GPU (not its
#                             CUTLASS kernels). GPU_PACK_NO_NATTEN=1 leaves it out.
#   gpu_pack/MANIFEST.txt     what was packed, and the size that travels.
# Fails when the working tree plus the pack exceeds GPU_PACK_LIMIT_MIB (default 60; the
# machine takes 64 MiB in all).
#
#   scripts/gpu_pack.sh            # then: GPU_CHECK_DRY_RUN=1 scripts/gpu_check.sh
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
PACK="${GPU_PACK_DIR:-gpu_pack}"
SRC="${GPU_PACK_SOURCE:-../shared/data/msrs_test}"
QUALITY="${GPU_PACK_JPEG_QUALITY:-95}"
PAIRS="${GPU_PACK_PAIRS:-0}"
LIMIT_MIB="${GPU_PACK_LIMIT_MIB:-60}"
if [ -n "${PYTHON:-}" ]; then :; elif [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi

[ -d "$SRC/ir" ] && [ -d "$SRC/vi" ] || { echo "gpu_pack: no pairs at $SRC (ir/, vi/)" >&2; exit 1; }
mkdir -p "$PACK"
rm -rf "$PACK/data" "$PACK/wheels" "$PACK/MANIFEST.txt"
"$PYTHON" scripts/gpu_check/pack_data.py "$SRC" "$PACK/data/msrs_test" --quality "$QUALITY" \
    --pairs "$PAIRS" --keep config/train/msrs_val.txt | tee "$PACK/MANIFEST.txt"

mkdir -p "$PACK/wheels"
if [ "${GPU_PACK_NO_NATTEN:-0}" = 1 ]; then
    echo "natten: left out (GPU_PACK_NO_NATTEN=1); the GPU check compares with the dense reference" \
        | tee -a "$PACK/MANIFEST.txt"
elif "$PYTHON" -m pip wheel -q --no-deps --no-build-isolation -w "$PACK/wheels" natten==0.21.7 \
        >"$PACK/wheels/build.log" 2>&1; then
    rm -f "$PACK/wheels/build.log"
    echo "natten: $(ls "$PACK/wheels") (pure Python: Flex Attention backend on CUDA)" | tee -a "$PACK/MANIFEST.txt"
else
    echo "natten: could not build a wheel here (see $PACK/wheels/build.log); the GPU check compares" \
         "with the dense reference instead" | tee -a "$PACK/MANIFEST.txt"
fi

tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s 2>/dev/null \
    | awk '{s += $1} END {print s + 0}')
pack_bytes=$(du -sb "$PACK" | cut -f1)
total_mib=$(( (tree_bytes + pack_bytes) / 1048576 ))
echo "working tree $(( tree_bytes / 1048576 )) MiB + $PACK $(( pack_bytes / 1048576 )) MiB = $total_mib MiB" \
    "(limit $LIMIT_MIB MiB)" | tee -a "$PACK/MANIFEST.txt"
if [ "$total_mib" -gt "$LIMIT_MIB" ]; then
    echo "gpu_pack: too big; lower GPU_PACK_JPEG_QUALITY or set GPU_PACK_PAIRS" >&2
    exit 1
fi
