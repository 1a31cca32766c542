"""Neighbourhood attention on one device: natten against our pure-PyTorch backend.

For each case (shape, kernel size, dilation) and precision (fp32, bf16) it runs the forward
and backward pass of both backends on the same query/key/value and compares outputs and
gradients. Limits: fp32 backends agree within 1e-4 (max |difference|); in bf16 each
backend's output and gradients stay within 3e-2 of our fp32 result (bf16 keeps 8 bits of
mantissa: 2^-8 relative per rounding, over a softmax and a weighted sum of ~50 terms).
Without natten, our backend is checked against the dense masked-attention reference
instead. Also times forward + backward of each backend. Prints one line per comparison and
writes everything to ``--json``; exit status 1 when a comparison is out of its limit.

    python scripts/gpu_check/na_check.py --device cuda --json na_check.json [--small]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tsjnet_ros.core.model.layers import neighborhood_attention_2d  # noqa: E402
from tsjnet_ros.core.model.layers.neighborhood_attention_reference import (  # noqa: E402
    dense_neighborhood_attention_2d,
)

FP32_LIMIT = 1e-4
BF16_LIMIT = 3e-2
# (batch, height, width, heads, head_dim), kernel size, dilation: the model's NA layers run at
# 1/2 to 1/8 of 480x640 with 7x7 windows; one dilated case.
CASES = [((2, 60, 80, 4, 32), 7, 1), ((1, 120, 160, 2, 32), 7, 1), ((2, 30, 40, 4, 32), 5, 2)]
SMALL_CASES = [((1, 12, 16, 2, 8), 5, 1), ((1, 10, 14, 2, 8), 3, 2)]


def _natten():
    try:
        import natten
    except ImportError:
        return None
    return natten


def _run(fn, qkv, weight, sync):
    """Output, input gradients (None where the backend has no backward on this device), ms."""
    leaves = [t.clone().requires_grad_() for t in qkv]
    start = time.perf_counter()
    try:
        out = fn(*leaves)
        (out.float() * weight).sum().backward()
        grads = [t.grad.float() for t in leaves]
    except NotImplementedError:  # natten's Flex backend has no backward on the CPU
        with torch.no_grad():
            out = fn(*qkv)
        grads = None
    sync()
    return out.detach().float(), grads, (time.perf_counter() - start) * 1e3


def _grad_diff(grads, ref_grads, relative: bool) -> float:
    if grads is None:
        return 0.0
    return max(
        _max_diff(a, b) / (max(1.0, float(b.abs().max())) if relative else 1.0)
        for a, b in zip(grads, ref_grads)
    )


def _max_diff(a, b) -> float:
    return float((a - b).abs().max())


def check_case(shape, kernel_size, dilation, device, natten, sync) -> list[dict]:
    gen = torch.Generator().manual_seed(kernel_size * 10 + dilation)
    qkv32 = [torch.randn(shape, generator=gen).to(device) for _ in range(3)]
    weight = torch.randn(shape, generator=gen).to(device)

    def ours(q, k, v):
        return neighborhood_attention_2d(q, k, v, kernel_size, dilation, backend='torch')

    def theirs(q, k, v):
        return natten.na2d(q, k, v, kernel_size=kernel_size, dilation=dilation)

    def dense(q, k, v):
        return dense_neighborhood_attention_2d(q, k, v, kernel_size, dilation)

    other, other_name = (theirs, 'natten') if natten is not None else (dense, 'dense reference')
    rows = []
    ref_out, ref_grads, _ = _run(ours, qkv32, weight, sync)  # warm-up and fp32 reference
    ref_out, ref_grads, ours_ms = _run(ours, qkv32, weight, sync)
    _run(other, qkv32, weight, sync)
    out, grads, other_ms = _run(other, qkv32, weight, sync)
    diff = max(_max_diff(out, ref_out), _grad_diff(grads, ref_grads, relative=False))
    rows.append(
        {
            'case': f'{tuple(shape)} k{kernel_size} d{dilation}',
            'precision': 'fp32',
            'compared': f'{other_name} vs ours',
            'max_abs_diff': diff,
            'limit': FP32_LIMIT,
            'ok': diff <= FP32_LIMIT,
            'backward': grads is not None,
            'ours_ms': ours_ms,
            'other_ms': other_ms,
        }
    )
    qkv16 = [t.to(torch.bfloat16) for t in qkv32]
    for name, fn in (('ours', ours), (other_name, other)):
        _run(fn, qkv16, weight, sync)
        out, grads, ms = _run(fn, qkv16, weight, sync)
        # gradients scale with the upstream weight; compare them relative to their own size
        diff = max(_max_diff(out, ref_out), _grad_diff(grads, ref_grads, relative=True))
        rows.append(
            {
                'case': f'{tuple(shape)} k{kernel_size} d{dilation}',
                'precision': 'bf16',
                'compared': f'{name} bf16 vs ours fp32',
                'max_abs_diff': diff,
                'limit': BF16_LIMIT,
                'ok': diff <= BF16_LIMIT,
                'backward': grads is not None,
                'ms': ms,
            }
        )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--small', action='store_true', help='tiny shapes (a CPU dry run)')
    parser.add_argument('--json', type=Path)
    args = parser.parse_args()
    device = torch.device(args.device)
    natten = _natten()

    def sync():
        if device.type == 'cuda':
            torch.cuda.synchronize(device)

    info = {
        'device': str(device),
        'torch': torch.__version__,
        'natten': getattr(natten, '__version__', None) if natten else None,
    }
    if natten is not None:
        info['natten_libnatten'] = bool(getattr(natten, 'HAS_LIBNATTEN', False))
        try:
            from natten.backends import choose_backend

            probe = torch.zeros(1, 8, 8, 1, 16, device=device)
            info['natten_backend'] = choose_backend(probe, probe, probe, torch_compile=False)
        except Exception as exc:  # a backend query is informative only
            info['natten_backend'] = f'unknown ({exc})'
    else:
        print('natten is not importable: our backend is compared with the dense reference instead')
    print('na_check: ' + ', '.join(f'{k} {v}' for k, v in info.items()))
    rows = []
    for shape, kernel_size, dilation in SMALL_CASES if args.small else CASES:
        for row in check_case(shape, kernel_size, dilation, device, natten, sync):
            rows.append(row)
            timing = (
                f'ours {row["ours_ms"]:.1f} ms, other {row["other_ms"]:.1f} ms'
                if 'ours_ms' in row
                else f'{row["ms"]:.1f} ms'
            )
            print(
                f'{"ok  " if row["ok"] else "FAIL"} {row["case"]:<28} '
                f'{row["precision"]} {row["compared"]:<28} '
                f'max|d| {row["max_abs_diff"]:.2e} (limit {row["limit"]:.0e}) '
                f'{"fwd+bwd" if row["backward"] else "fwd only (no backward here)"} {timing}',
                flush=True,
            )
    failed = sum(not r['ok'] for r in rows)
    print(f'na_check: {len(rows) - failed} within limits, {failed} out of limits')
    if args.json:
        args.json.write_text(json.dumps({'info': info, 'rows': rows}, indent=1))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
