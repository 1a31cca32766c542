#!/usr/bin/env bash
# Every CUDA check of the project in one run of about 9 minutes on a GPU machine that has
# Python with torch, timm, OpenCV and numpy (no ROS, no network): run scripts/gpu_pack.sh
# first and carry gpu_pack/ along (docs/gpu_check.md says how).
#
#   1. tests     the test files with CUDA-only tests (test_na_cuda.py, the official variant's
#                CUDA test, test_pipeline_inference.py)
#   2. na        natten against our pure-PyTorch neighbourhood attention, fp32 and bf16,
#                forward and backward (scripts/gpu_check/na_check.py)
#   3. pipeline  the shipped model through the node's inference-thread path on CUDA against
#                the CPU on real pairs, fp32 and bf16; cleanup returns
#                torch.cuda.memory_allocated to its start value (scripts/gpu_check/pipeline_check.py)
#   4. bench     bench/model_speed.py on CUDA: the shipped tsjnet_rt system and tsjnet at
#                480x640, fp32 / bf16 / bf16 compiled, batch 1 and 8
#   5. train     config/train/tsjnet_rt_fusion.yaml, then config/train/tsjnet_rt.yaml on the
#                packed pairs with AMP, step counts sized to the minutes left (a short
#                calibration run measures the time per step)
#
# Each step runs under its own time limit (and never past the overall budget), so a step
# that hangs or fails costs only its own slot. Results go to GPU_CHECK_OUT (default $OUT,
# else output/gpu_check), at most 8 files: summary.txt, log.txt, na_check.json,
# pipeline_check.json, bench.json, train_fusion.csv, train_heads.csv, tsjnet_rt.pt.
#
# Environment: GPU_CHECK_BUDGET_S (default 540), GPU_CHECK_DRY_RUN=1 (the same steps on the
# CPU with tiny sizes, to try the script without a GPU), GPU_PACK_DIR (default gpu_pack),
# PYTHON (default .venv/bin/python where present, else python3).
set -uo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
DRY="${GPU_CHECK_DRY_RUN:-0}"
if [ "$DRY" = 1 ]; then BUDGET="${GPU_CHECK_BUDGET_S:-720}"; else BUDGET="${GPU_CHECK_BUDGET_S:-540}"; fi
PACK="${GPU_PACK_DIR:-gpu_pack}"
DATA="$PACK/data/msrs_test"
RESULTS="${GPU_CHECK_OUT:-${OUT:-output/gpu_check}}"
WORK="${GPU_CHECK_WORK:-runs/gpu_check}"
if [ -n "${PYTHON:-}" ]; then :; elif [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
export PYTHONUNBUFFERED=1
START=$SECONDS
SUMMARY=()

# per-step limits (s): GPU run / CPU dry run (a loaded 2-core machine)
if [ "$DRY" = 1 ]; then LIM_TESTS=120 LIM_NA=90 LIM_PIPE=150 LIM_BENCH=200
else LIM_TESTS=120 LIM_NA=60 LIM_PIPE=75 LIM_BENCH=230; fi

mkdir -p "$RESULTS" "$WORK"
rm -rf "${WORK:?}"/*
rm -f "$RESULTS/log.txt"
exec > >(tee -a "$RESULTS/log.txt") 2>&1
TEE_PID=$!

note() { echo "[gpu_check $((SECONDS - START))s] $*"; }
left() { echo $((BUDGET - (SECONDS - START))); }

# step NAME LIMIT_S RESERVE_S CMD...: run CMD under min(LIMIT, time left - RESERVE) seconds;
# its output also goes to $WORK/NAME.txt, its status to LAST_STATUS.
step() {
    local name=$1 limit=$2 reserve=$3; shift 3
    local avail=$(( $(left) - reserve ))
    [ "$avail" -lt "$limit" ] && limit=$avail
    if [ "$limit" -lt 10 ]; then
        LAST_STATUS="SKIPPED (no time left)"; : > "$WORK/$name.txt"; note "$name skipped: no time left"; return 1
    fi
    note "$name: start (limit ${limit}s)"
    local t0=$SECONDS rc
    timeout -k 10 "$limit" "$@" 2>&1 | tee "$WORK/$name.txt"
    rc=${PIPESTATUS[0]}
    local status=ok
    if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then status="TIMEOUT after ${limit}s"
    elif [ "$rc" -ne 0 ]; then status="FAILED (exit $rc)"; fi
    note "$name: $status in $((SECONDS - t0))s"
    LAST_STATUS=$status
    [ "$rc" -eq 0 ]
}

# -- environment --------------------------------------------------------------------------
SITE="$WORK/site"
export PYTHONPATH="$REPO_ROOT${PYTHONPATH:+:$PYTHONPATH}"
if [ "$DRY" = 1 ]; then
    # what the GPU machine lacks is hidden here too, so the dry run finds any import of it
    mkdir -p "$WORK/hide"
    cat > "$WORK/hide/sitecustomize.py" <<'PY'
import importlib.abc, importlib.machinery, os, sys
HIDDEN = {"rclpy", "rosbags", "mcap", "mcap_ros2"}
SITE = os.environ.get("GPU_CHECK_SITE", "")
class _Hide(importlib.abc.MetaPathFinder):
    """Hides the packages the GPU machine lacks; natten only from the carried wheels."""
    def find_spec(self, name, path=None, target=None):
        if name == "natten":
            spec = importlib.machinery.PathFinder.find_spec(name, [SITE]) if SITE else None
            if spec is None:
                raise ModuleNotFoundError("No module named 'natten' (hidden: not among the carried wheels)")
            return spec
        if name in HIDDEN:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden: the GPU machine lacks it)")
        return None
sys.meta_path.insert(0, _Hide())
PY
    export PYTHONPATH="$REPO_ROOT/$WORK/hide:$PYTHONPATH"
fi
if ls "$PACK"/wheels/*.whl >/dev/null 2>&1; then
    if "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
            --target "$SITE" "$PACK"/wheels/*.whl; then
        export PYTHONPATH="$PYTHONPATH:$REPO_ROOT/$SITE" GPU_CHECK_SITE="$REPO_ROOT/$SITE"
    else
        note "installing the carried wheels failed; natten comparisons fall back to the dense reference"
    fi
else
    note "no wheels in $PACK/wheels: natten is not available, natten comparisons fall back to the dense reference"
fi
"$PYTHON" - <<'PY'
import platform, torch
try:
    import natten
    nat = f"natten {natten.__version__} (libnatten {'yes' if natten.HAS_LIBNATTEN else 'no: Flex backend'})"
except ImportError:
    nat = "natten not installed: natten parts compare with the dense reference"
cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA device"
print(f"python {platform.python_version()}, torch {torch.__version__} (CUDA {torch.version.cuda}), {cuda}; {nat}")
PY
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
if [ "$DRY" = 1 ]; then
    DEVICE=cpu
    note "dry run: device cpu, tiny sizes, few steps"
else
    DEVICE=cuda
    if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
        note "no CUDA device here; GPU_CHECK_DRY_RUN=1 runs the steps on the CPU"; exit 1
    fi
fi
[ -d "$DATA/ir" ] || { note "no packed pairs at $DATA: run scripts/gpu_pack.sh first and carry $PACK"; exit 1; }

# -- 1. CUDA tests ---------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
    TESTS=(test/test_na_cuda.py test/test_core_inference_thread.py
           "test/test_model_official_variant.py::test_official_variant_with_relative_position_bias_runs_on_cuda")
else
    TESTS=(test/test_na_cuda.py test/test_model_official_variant.py test/test_pipeline_inference.py
           test/test_core_inference_thread.py)
fi
step tests "$LIM_TESTS" 330 "$PYTHON" -m pytest -q -rs -p no:cacheprovider "${TESTS[@]}"
SUMMARY+=("tests: $LAST_STATUS; $(grep -E '(passed|failed|skipped|error)' "$WORK/tests.txt" | tail -n 1)")

# -- 2. natten vs ours ------------------------------------------------------------------------
NA_ARGS=(--device "$DEVICE" --json "$RESULTS/na_check.json")
[ "$DRY" = 1 ] && NA_ARGS+=(--small)
step na "$LIM_NA" 300 "$PYTHON" scripts/gpu_check/na_check.py "${NA_ARGS[@]}"
SUMMARY+=("na: $LAST_STATUS; $(grep '^na_check' "$WORK/na.txt" | tr '\n' ' ')")

# -- 3. pipeline on the device vs CPU, cleanup -------------------------------------------------
if [ "$DRY" = 1 ]; then PIPE_ARGS=(--pairs 1 --precisions fp32 --batch 2); else PIPE_ARGS=(--pairs 8); fi
step pipeline "$LIM_PIPE" 270 "$PYTHON" scripts/gpu_check/pipeline_check.py --data "$DATA" --device "$DEVICE" \
    --json "$RESULTS/pipeline_check.json" "${PIPE_ARGS[@]}"
SUMMARY+=("pipeline: $LAST_STATUS")
while IFS= read -r line; do SUMMARY+=("  $line"); done < <(grep -E '^(ok  |FAIL) ' "$WORK/pipeline.txt")

# -- 4. model speed ------------------------------------------------------------------------------
if [ "$DRY" = 1 ]; then
    # bf16 tsjnet takes minutes on a CPU without bf16 units: the probe rule reports it skipped
    BENCH_ARGS=(--device cpu --models tsjnet_rt_system tsjnet --sizes 64x64 --settings reference bf16
                --batch 2 --threads 1 --repeats 1 --budget-s 20 --child-timeout 45)
else
    BENCH_ARGS=(--device cuda --models tsjnet_rt_system tsjnet --sizes 480x640
                --settings reference bf16 bf16+compiled --batch 1 8 --repeats 30 --budget-s 8 --child-timeout 80)
fi
step bench "$LIM_BENCH" 150 "$PYTHON" bench/model_speed.py "${BENCH_ARGS[@]}" --json "$RESULTS/bench.json"
SUMMARY+=("bench: $LAST_STATUS")
while IFS= read -r line; do SUMMARY+=("  $line"); done < <(grep -E 'ms/frame|skipped' "$WORK/bench.txt")

# -- 5. training: fusion stage, then heads ------------------------------------------------------
if [ "$DRY" = 1 ]; then
    CAL_STEPS=4
    TRAIN_COMMON=(--set device=cpu --set data.num_workers=0 --set data.crop_size=[64,64] --set data.batch_size=2
                  --set data.sources.0.max_side=160 --set validation.max_side=160 --set log_every=2
                  --set "validation.names=[00028N,00055D]" --set validation.names_file=null)
else
    CAL_STEPS=30
    TRAIN_COMMON=(--set device=cuda --set data.num_workers=8 --set log_every=10)
fi
TRAIN_COMMON+=(--set amp=true --set data.sources.0.root="$DATA" --set validation.root="$DATA"
               --set validation.every=0 --set progress=false)

# train_stage NAME CONFIG BUDGET_S EXPORT EXTRA...: calibrate, size the steps, train, export.
train_stage() {
    local name=$1 config=$2 budget=$3 export=$4; shift 4
    local run="$WORK/$name" cal="$WORK/${name}_calibration" t0=$SECONDS
    step "train_${name}_calibration" $((budget / 2)) 20 "$PYTHON" -m tsjnet_ros.tools.train "$config" \
        "${TRAIN_COMMON[@]}" "$@" --set output_dir="$cal" --set stages.0.steps=100000 --set export_path=null \
        --stop-after "$CAL_STEPS" --restart || { SUMMARY+=("train_$name calibration: $LAST_STATUS"); return 1; }
    local wall=$((SECONDS - t0)) left_s=$((budget - (SECONDS - t0)))
    local sizing steps per_step startup
    sizing=$("$PYTHON" scripts/gpu_check/train_steps.py "$cal/train.csv" --wall "$wall" --budget "$left_s" \
        --reserve "$([ "$DRY" = 1 ] && echo 30 || echo 20)" --margin "$([ "$DRY" = 1 ] && echo 2 || echo 1.25)") || return 1
    read -r steps per_step startup <<<"$sizing"
    note "train_$name: $per_step s/step, start-up ${startup}s: $steps steps in ${left_s}s"
    local every=$(( steps / 4 > 10 ? steps / 4 : 10 )) warm=$(( steps / 10 ))
    step "train_$name" "$left_s" 15 "$PYTHON" -m tsjnet_ros.tools.train "$config" "${TRAIN_COMMON[@]}" "$@" \
        --set output_dir="$run" --set stages.0.steps="$steps" --set stages.0.warmup_steps="$warm" \
        --set checkpoint_every="$every" --set export_path="$export" --restart
    local rc=$?
    SUMMARY+=("train_$name: $LAST_STATUS; $steps steps at $per_step s/step; $(grep -E '^(trained|validation:)' \
        "$WORK/train_$name.txt" | tr '\n' ' ')")
    if [ ! -f "$export" ] && [ -f "$run/checkpoint_latest.pt" ]; then
        cp "$run/checkpoint_latest.pt" "$export"
        SUMMARY+=("  train_$name: run cut short; its last saved checkpoint is used ($run/checkpoint_latest.pt)")
    fi
    return $rc
}
TRAIN_LEFT=$(( $(left) - 15 ))
FUSION_PT="$WORK/fusion.pt"
FINAL_PT="$WORK/tsjnet_rt.pt"
train_stage fusion config/train/tsjnet_rt_fusion.yaml $((TRAIN_LEFT * 45 / 100)) "$FUSION_PT"
[ -f "$WORK/fusion/train.csv" ] && cp "$WORK/fusion/train.csv" "$RESULTS/train_fusion.csv"
if [ -f "$FUSION_PT" ]; then
    train_stage heads config/train/tsjnet_rt.yaml $(( $(left) - 15 )) "$FINAL_PT" --set init_checkpoint="$FUSION_PT"
    [ -f "$WORK/heads/train.csv" ] && cp "$WORK/heads/train.csv" "$RESULTS/train_heads.csv"
else
    SUMMARY+=("train_heads: SKIPPED (no fusion checkpoint from stage 1)")
fi
if [ -f "$FINAL_PT" ]; then cp "$FINAL_PT" "$RESULTS/tsjnet_rt.pt"
elif [ -f "$FUSION_PT" ]; then cp "$FUSION_PT" "$RESULTS/tsjnet_rt.pt"; SUMMARY+=("  returned checkpoint: fusion stage only"); fi

# -- summary ------------------------------------------------------------------------------------
{
    echo "gpu_check $([ "$DRY" = 1 ] && echo "DRY RUN (CPU, tiny sizes)" || echo "on $DEVICE"): $((SECONDS - START))s of ${BUDGET}s"
    printf '%s\n' "${SUMMARY[@]}"
} > "$RESULTS/summary.txt"
echo; echo "==== summary ($RESULTS/summary.txt) ===="; cat "$RESULTS/summary.txt"
count=0
for f in "$RESULTS"/*; do
    count=$((count + 1))
    name=$(basename "$f")
    [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || note "result name $name has characters the transfer refuses"
    [ "$(stat -c %s "$f")" -le $((16 * 1048576)) ] || note "result $name is over 16 MiB and will not come back"
done
[ "$count" -le 8 ] || note "$count result files: only 8 come back"
failed=0
grep -qE 'FAILED|TIMEOUT|SKIPPED|^ *FAIL' "$RESULTS/summary.txt" && failed=1
exec >&- 2>&-
wait "$TEE_PID" 2>/dev/null  # log.txt complete before the results are collected
exit "$failed"
