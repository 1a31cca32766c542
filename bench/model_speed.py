"""Speed and memory of the fusion networks on CPU or CUDA: ms/frame and peak memory per setting.

One run measures ``tsjnet`` and ``tsjnet_rt`` at 480x640 and 256x256 in these settings:

* ``reference``: the network as built, eager, fp32 (the straightforward implementation);
* ``optimized``: the CPU inference form (:func:`inference_copy`: folded norms, NNPACK
  Winograd 3x3 convs, the preferred memory layout), eager fp32;
* ``optimized+compiled``: the same under ``torch.compile``, fp32;
* ``bf16`` / ``bf16+compiled``: folded network in bfloat16 (slow on CPUs without bf16 units:
  a small probe estimates the time first, and a setting whose estimate exceeds
  ``--budget-s`` is reported as skipped with that estimate).

Every setting runs once per ``--threads`` value, 2 and 1 by default: on a CPU shared
with other jobs one intra-op thread often beats two, because each of the hundreds of
small ops waits for its slower thread. Compiled settings run only for
``--compile-threads`` (default 2): compiling ``tsjnet`` takes many minutes. Each run is a
fresh child process, so its peak RSS is its own. Outputs of every setting are compared
with the reference at the same thread count (max |difference| of the fused image). At
the end the best setting per model and size and the ratio tsjnet/tsjnet_rt are printed.
The load average is printed per run.

``--models`` also takes ``tsjnet_rt_system``: the shipped checkpoint (``models/tsjnet_rt.pt``,
fusion network and detection/segmentation heads) as the node runs it. ``--device cuda``
times on the GPU (each timed run ends in a device synchronise; peak memory is
``torch.cuda.max_memory_allocated``; the CPU-only ``optimized`` rewrite is skipped there) and
``--batch 1 8`` times batches of pairs (ms/frame = ms per batch / batch size).

    python bench/model_speed.py [--threads 2 1] [--repeats 3] [--budget-s 240] [--quick]
    python bench/model_speed.py --device cuda --models tsjnet_rt_system tsjnet --sizes 480x640 \
        --settings reference bf16 bf16+compiled --batch 1 8 --repeats 20 --json bench.json
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / '..' / 'shared' / 'data' / 'msrs'
SETTINGS = ('reference', 'optimized', 'optimized+compiled', 'bf16', 'bf16+compiled')
PROBE_SIZES = {
    'tsjnet': (32, 32),
    'tsjnet_rt': (64, 64),
}  # bf16 time probe (tsjnet is slow even there)
SYSTEM = 'tsjnet_rt_system'  # the shipped checkpoint: fusion network + task heads


def _pair(height: int, width: int):
    """Return an MSRS pair cropped to (height, width) when the data is present, else random."""
    import numpy as np
    import torch

    ir_path, vis_path = DATA / 'ir' / '00004N.png', DATA / 'vi' / '00004N.png'
    if ir_path.is_file() and vis_path.is_file() and height <= 480 and width <= 640:
        import cv2

        ir = cv2.imread(str(ir_path), cv2.IMREAD_GRAYSCALE)[:height, :width]
        vis = cv2.imread(str(vis_path), cv2.IMREAD_GRAYSCALE)[:height, :width]

        def to_tensor(a):
            return torch.from_numpy(np.ascontiguousarray(a)).float().div(255)[None, None]

        return to_tensor(ir), to_tensor(vis), 'MSRS 00004N'
    gen = torch.Generator().manual_seed(0)
    return (
        torch.rand(1, 1, height, width, generator=gen),
        torch.rand(1, 1, height, width, generator=gen),
        'random',
    )


def _build(model_name: str, setting: str):
    import torch

    from tsjnet_ros.core.model import create_model
    from tsjnet_ros.core.model.inference_form import inference_copy

    if model_name == SYSTEM:
        return _build_system(setting)
    torch.manual_seed(0)
    model = create_model(model_name).eval()
    # Non-trivial norm statistics, so folding is exercised as with trained weights.
    gen = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.copy_(torch.rand(module.num_features, generator=gen) * 0.2 - 0.1)
            module.running_var.copy_(torch.rand(module.num_features, generator=gen) + 0.5)
    # A fresh source-blend head starts exactly at average fusion (zero last conv), which
    # would make every setting's output equal by construction: give it trained-like weights.
    from tsjnet_ros.core.model.blocks.image_heads import SourceBlendImageHead

    for module in model.modules():
        if isinstance(module, SourceBlendImageHead):
            torch.nn.init.normal_(module.to_image[0].weight, std=0.05, generator=gen)
    if setting == 'reference':
        return model
    if setting.startswith('optimized'):
        return inference_copy(model)
    return inference_copy(model, channels_last=False, winograd=False).to(torch.bfloat16)


def _build_system(setting: str):
    """Build the shipped checkpoint's system in ``setting``.

    Trained weights: nothing to perturb.
    """
    import torch

    from tsjnet_ros.core.model.checkpoint import load_checkpoint
    from tsjnet_ros.core.model.inference_form import inference_copy
    from tsjnet_ros.core.runtime.pipeline import _inference_copy
    from tsjnet_ros.resources import default_checkpoint

    system = load_checkpoint(default_checkpoint()).system.float().eval()
    if setting == 'reference':
        return system
    if setting.startswith('optimized'):
        return _inference_copy(system)  # what FusionPipeline runs on the CPU
    return inference_copy(system, channels_last=False, winograd=False).to(torch.bfloat16)


def child(spec: dict) -> dict:
    """Measure one (model, size, setting) in this process; returns a JSON-able dict."""
    import torch

    torch.set_num_threads(spec['threads'])
    height, width = spec['size']
    setting = spec['setting']
    device = torch.device(spec.get('device', 'cpu'))
    batch = int(spec.get('batch', 1))
    cuda = device.type == 'cuda'
    result = {**spec, 'load_before': os.getloadavg()[0]}
    if cuda and setting.startswith('optimized'):
        return {**result, 'skipped': 'the CPU inference form (NNPACK Winograd) is CPU-only'}
    dtype = torch.bfloat16 if setting.startswith('bf16') else torch.float32
    model = _build(spec['model'], setting).to(device)
    ir, vis, source = _pair(height, width)
    ir, vis = (t.to(dtype).repeat(batch, 1, 1, 1).to(device) for t in (ir, vis))
    result['source'] = source

    def sync():
        if cuda:
            torch.cuda.synchronize(device)

    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    with torch.inference_mode():
        if dtype == torch.bfloat16 and not spec['force'] and not cuda:
            probe_h, probe_w = PROBE_SIZES.get(spec['model'], (64, 64))
            small = [t[..., :probe_h, :probe_w] for t in (ir, vis)]
            start = time.perf_counter()
            model(*small)
            estimate = (time.perf_counter() - start) * height * width / (probe_h * probe_w)
            if estimate * (2 + spec['repeats']) > spec['budget_s']:
                return {
                    **result,
                    'skipped': f'estimated {estimate:.0f} s/frame from a '
                    f'{probe_h}x{probe_w} probe '
                    f'(no bf16 units on this CPU; --force runs it)',
                }
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        model_mb = torch.cuda.memory_allocated(device) / 2**20 if cuda else rss_before
        forward = torch.compile(model, dynamic=False) if setting.endswith('compiled') else model
        start = time.perf_counter()
        out = forward(ir, vis)
        sync()
        first = time.perf_counter() - start
        if setting.endswith('compiled') or cuda:  # CUDA: the first call pays kernel selection
            if setting.endswith('compiled'):
                result['compile_s'] = first
            start = time.perf_counter()
            out = forward(ir, vis)
            sync()
            first = time.perf_counter() - start
        repeats = max(1, min(spec['repeats'], int(spec['budget_s'] / max(first, 1e-3)) - 1))
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            out = forward(ir, vis)
            sync()
            times.append((time.perf_counter() - start) / batch)
    torch.save(out.fused[:1].float().cpu(), spec['output_path'])
    peak_mb = (
        torch.cuda.max_memory_allocated(device) / 2**20
        if cuda
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    if cuda:
        result['gpu'] = torch.cuda.get_device_name(device)
    return {
        **result,
        'ms': 1000 * statistics.median(times),
        'ms_min': 1000 * min(times),
        'repeats': len(times),
        'rss_model_mb': model_mb,
        'peak_rss_mb': peak_mb,
        'memory': 'CUDA allocated' if cuda else 'RSS',
        'load_after': os.getloadavg()[0],
    }


def _run_child(spec: dict, timeout: float | None = None) -> dict:
    env = {
        **os.environ,
        'OMP_NUM_THREADS': str(spec['threads']),
        'MKL_NUM_THREADS': str(spec['threads']),
    }
    try:
        proc = subprocess.run(
            [sys.executable, __file__, '--child', json.dumps(spec)],
            capture_output=True,
            text=True,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {**spec, 'skipped': f'did not finish within --child-timeout {timeout:.0f} s'}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith('{'):
            return json.loads(line)
    return {
        **spec,
        'skipped': f'child failed (rc {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}',
    }


def _row(r: dict, diff: float | None) -> str:
    where = (
        f'b={r.get("batch", 1)} {r.get("device", "cpu")}'
        if r.get('device', 'cpu') != 'cpu'
        else f't={r["threads"]}'
    )
    if r.get('batch', 1) != 1 and r.get('device', 'cpu') == 'cpu':
        where += f' b={r["batch"]}'
    name = f'{r["model"]:<10} {r["size"][0]}x{r["size"][1]:<4} {r["setting"]:<19} {where}'
    if 'skipped' in r:
        return f'{name} skipped: {r["skipped"]}'
    compile_note = f' compile {r["compile_s"]:.0f}s' if 'compile_s' in r else ''
    diff_note = '' if diff is None else f' max|d fused| {diff:.1e}'
    digits = 2 if r['ms'] < 10 else 1
    return (
        f'{name} {r["ms"]:>10.{digits}f} ms/frame (min '
        f'{r["ms_min"]:.{digits}f}, n={r["repeats"]}) '
        f'{1000 / r["ms"]:>6.2f} fps  peak {r.get("memory", "RSS")} {r["peak_rss_mb"]:>6.0f} MB '
        f'(model {r["rss_model_mb"]:.0f})'
        f'{compile_note}{diff_note}  load {r["load_before"]:.1f}/{r["load_after"]:.1f}'
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        '--threads', type=int, nargs='+', default=[2, 1], help='intra-op thread counts to time'
    )
    parser.add_argument(
        '--compile-threads',
        type=int,
        nargs='+',
        default=[2],
        help='thread counts that also run the compiled settings (compiling tsjnet takes minutes)',
    )
    parser.add_argument('--repeats', type=int, default=3, help='timed runs after warm-up')
    parser.add_argument(
        '--budget-s', type=float, default=240.0, help='time budget per setting (bf16 skip rule)'
    )
    parser.add_argument(
        '--models',
        nargs='+',
        default=['tsjnet_rt', 'tsjnet'],
        help=f'registry variants, or {SYSTEM} (the shipped checkpoint with its heads)',
    )
    parser.add_argument('--sizes', nargs='+', default=['480x640', '256x256'])
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS), choices=SETTINGS)
    parser.add_argument(
        '--force', action='store_true', help='run bf16 even when the estimate exceeds the budget'
    )
    parser.add_argument(
        '--quick', action='store_true', help='tsjnet_rt only, 1 repeat (smoke run)'
    )
    parser.add_argument(
        '--device',
        default='cpu',
        help='cpu or cuda[:N] (CUDA: --threads is reduced to its first value)',
    )
    parser.add_argument(
        '--batch', type=int, nargs='+', default=[1], help='batch sizes to time (pairs per forward)'
    )
    parser.add_argument(
        '--child-timeout',
        type=float,
        default=None,
        help='seconds one setting may take (compile included); '
        'a slower one is reported as skipped',
    )
    parser.add_argument('--json', type=Path, help='also write every result to this JSON file')
    parser.add_argument('--child', help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    if args.quick:
        args.models, args.repeats = ['tsjnet_rt'], 1
    if args.device != 'cpu':
        args.threads, args.compile_threads = args.threads[:1], args.threads[:1]
    sizes = [tuple(int(v) for v in s.lower().split('x')) for s in args.sizes]
    print(
        f'{os.cpu_count()} CPU cores; intra-op threads {args.threads}; device '
        f'{args.device}; batch {args.batch}; '
        f'load average now {os.getloadavg()[0]:.1f} (other users share this '
        'CPU: times are upper bounds)'
    )
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        import torch

        for model, size, threads, batch in itertools.product(
            args.models, sizes, args.threads, args.batch
        ):
            reference = None
            for setting in args.settings:
                if setting.endswith('compiled') and threads not in args.compile_threads:
                    continue
                out_path = str(
                    Path(tmp) / f'{model}_{size[0]}x{size[1]}_{setting}_{threads}_{batch}.pt'
                )
                spec = {
                    'model': model,
                    'size': size,
                    'setting': setting,
                    'threads': threads,
                    'repeats': args.repeats,
                    'budget_s': args.budget_s,
                    'force': args.force,
                    'output_path': out_path,
                    'device': args.device,
                    'batch': batch,
                }
                r = _run_child(spec, args.child_timeout)
                diff = None
                if 'skipped' not in r:
                    fused = torch.load(out_path)
                    if setting == 'reference':
                        reference = fused
                    elif reference is not None:
                        diff = float((fused - reference).abs().max())
                        r['max_abs_diff'] = diff
                results.append(r)
                print(_row(r, diff), flush=True)
                if args.json:
                    args.json.write_text(json.dumps(results, indent=1))
    _summary(results, sizes)


def _summary(results: list[dict], sizes: list[tuple[int, int]]) -> None:
    done = [r for r in results if 'skipped' not in r and r.get('batch', 1) == 1]

    def pick(model, size, setting=None):
        rows = [
            r
            for r in done
            if r['model'] == model
            and tuple(r['size']) == size
            and (setting is None or r['setting'] == setting)
        ]
        return min(rows, key=lambda r: r['ms']) if rows else None

    print('\nsummary')
    for size in sizes:
        label = f'{size[0]}x{size[1]}'
        for model in ('tsjnet', 'tsjnet_rt'):
            ref, best = pick(model, size, 'reference'), pick(model, size)
            if ref and best:
                print(
                    f'  {model:<10} {label}: best {best["setting"]} '
                    f't={best["threads"]} {best["ms"]:.1f} ms '
                    f'({1000 / best["ms"]:.2f} fps), {ref["ms"] / best["ms"]:.2f}x faster '
                    'than the best reference '
                    f'eager fp32 run ({ref["ms"]:.1f} ms, t={ref["threads"]}); peak RSS '
                    f'{best["peak_rss_mb"]:.0f} vs '
                    f'{ref["peak_rss_mb"]:.0f} MB'
                )
        for model in sorted({r['model'] for r in results}):
            for batch in sorted({r.get('batch', 1) for r in results}):
                rows = [
                    r
                    for r in results
                    if 'skipped' not in r
                    and r['model'] == model
                    and tuple(r['size']) == size
                    and r.get('batch', 1) == batch
                ]
                if rows:
                    best = min(rows, key=lambda r: r['ms'])
                    print(
                        f'  {model} {label} batch {batch}: best {best["setting"]} '
                        f'{best["ms"]:.2f} ms/frame '
                        f'({1000 / best["ms"]:.1f} fps), peak {best.get("memory", "RSS")} '
                        f'{best["peak_rss_mb"]:.0f} MB'
                    )
        for setting in SETTINGS:
            big, small = pick('tsjnet', size, setting), pick('tsjnet_rt', size, setting)
            if big and small:
                print(
                    f'  ratio tsjnet/tsjnet_rt {label} {setting}: {big["ms"] / small["ms"]:.0f}x'
                )
        big, small = pick('tsjnet', size), pick('tsjnet_rt', size)
        if big and small:
            print(
                f'  ratio tsjnet/tsjnet_rt {label} best vs best '
                f'({big["setting"]} t={big["threads"]} / '
                f'{small["setting"]} t={small["threads"]}): {big["ms"] / small["ms"]:.0f}x'
            )


if __name__ == '__main__':
    main()
