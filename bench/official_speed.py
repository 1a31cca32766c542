"""``tsjnet_official`` against the authors' own code: ms/frame, peak RSS, equal outputs.

The authors' ``net.py`` is brought in from a checkout of XylonXu01/TSJNet given on the
command line (never part of this repository). Both run the same seeded weights in the
authors' layout (``seeded_official_weights``) on the same input, each in a fresh child
process (so its peak RSS is its own), alternating authors / ours for ``--repeats``
rounds. Ours is the inference form of ``tsjnet_official`` the pipeline runs on CPU
(``--band-mb``: with the node's ``cpu_band_mb``, the row-banded ResNeSt stages).

natten has no CPU kernels in the versions installable here, so the authors' NA layers
run through a stand-in with natten < 0.20's interface whose attention core is our
pure-PyTorch neighbourhood attention; einops' two rearranges in ``net.py`` are reshapes.
Everything else in their forward is their code as published.

    python bench/official_speed.py --authors-repo /path/to/TSJNet [--size 480 640]
        [--threads 2] [--repeats 1] [--frames 1] [--warmup 0] [--band-mb 0]

Prints per run ms/frame and peak RSS, then the medians, the ratios authors/ours, the
largest difference of the fused images and the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _install_stand_ins() -> None:
    """Natten < 0.20's NeighborhoodAttention2D and einops.rearrange, for ``import net``."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    from tsjnet_ros.core.model.layers.neighborhood_attention import neighborhood_attention_2d_torch

    class NeighborhoodAttention2D(nn.Module):
        def __init__(
            self,
            dim,
            kernel_size,
            dilation=None,
            num_heads=1,
            qkv_bias=True,
            qk_scale=None,
            attn_drop=0.0,
            proj_drop=0.0,
            bias=True,
        ):
            super().__init__()
            self.num_heads, self.head_dim = num_heads, dim // num_heads
            self.scale = qk_scale or self.head_dim**-0.5
            self.kernel_size, self.dilation = kernel_size, dilation or 1
            self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
            self.rpb = nn.Parameter(
                torch.zeros(num_heads, 2 * kernel_size - 1, 2 * kernel_size - 1)
            )
            self.proj = nn.Linear(dim, dim)

        def forward(self, x):
            batch, height, width, channels = x.shape
            window = self.kernel_size * self.dilation
            pad_r, pad_b = max(0, window - width), max(0, window - height)
            if pad_r or pad_b:
                x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
            padded_h, padded_w = x.shape[1:3]
            q, k, v = (
                self.qkv(x)
                .reshape(batch, padded_h, padded_w, 3, self.num_heads, self.head_dim)
                .unbind(3)
            )
            out = neighborhood_attention_2d_torch(
                q, k, v, self.kernel_size, self.dilation, self.rpb, self.scale
            )
            out = out.reshape(batch, padded_h, padded_w, channels)[:, :height, :width]
            return self.proj(out)

    def rearrange(x, pattern, **sizes):
        if pattern == 'b c h w -> b (h w) c':
            return x.flatten(2).transpose(1, 2)
        if pattern == 'b (h w) c -> b c h w':
            return x.transpose(1, 2).reshape(x.shape[0], x.shape[2], sizes['h'], sizes['w'])
        raise NotImplementedError(pattern)

    sys.modules['natten'] = types.SimpleNamespace(NeighborhoodAttention2D=NeighborhoodAttention2D)
    sys.modules['einops'] = types.SimpleNamespace(rearrange=rearrange)


def _input(height: int, width: int):
    import torch

    gen = torch.Generator().manual_seed(0)
    return torch.rand(1, 1, height, width, generator=gen), torch.rand(
        1, 1, height, width, generator=gen
    )


def _authors_forward(repo: Path):
    _install_stand_ins()
    sys.path.insert(0, str(repo))
    import net  # noqa: E402  (the authors' file, from --authors-repo)

    from tsjnet_ros.core.model.official_checkpoint import seeded_official_weights

    modules = {
        'DIDF_Encoder': net.Restormer_Encoder(),
        'DIDF_Decoder': net.Restormer_Decoder(128, 512, 32),
        'BaseFuseLayer': net.BaseFeatureExtraction(dim=64, num_heads=8),
        'DetailFuseLayer': net.DetailFeatureExtraction(n_feat=64),
    }
    for name, state in seeded_official_weights(seed=0).items():
        modules[name].load_state_dict(state, strict=True)
        modules[name].eval()
    encoder, decoder = modules['DIDF_Encoder'], modules['DIDF_Decoder']
    base, detail = modules['BaseFuseLayer'], modules['DetailFuseLayer']

    def forward(ir, visible):  # as their inference.py
        v_b, v_d, _ = encoder(visible)
        i_b, i_d, _ = encoder(ir)
        return decoder(base(i_b + v_b), detail(i_d + v_d))[0]

    return forward


def _our_forward(band_mb: int):
    from tsjnet_ros.core.model.inference_form import band_bytes_from_mb, inference_copy
    from tsjnet_ros.core.model.official_checkpoint import official_system, seeded_official_weights
    from tsjnet_ros.core.runtime.large_buffers import release_free_heap

    system, _ = official_system(seeded_official_weights(seed=0))
    fast = inference_copy(system.fusion, band_bytes=band_bytes_from_mb(band_mb))
    del system
    release_free_heap()  # as FusionPipeline.from_checkpoint does after building
    return lambda ir, visible: fast(ir, visible).fused


def child(args: argparse.Namespace) -> None:
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    if args.child == 'authors':
        forward = _authors_forward(args.authors_repo)
    else:
        forward = _our_forward(args.band_mb)
    ir, visible = _input(*args.size)
    times = []
    with torch.inference_mode():
        for _ in range(args.warmup):
            forward(ir, visible)
        for _ in range(args.frames):
            start = time.perf_counter()
            fused = forward(ir, visible)
            times.append((time.perf_counter() - start) * 1e3)
    np.save(args.output, fused.float().numpy())
    print(
        json.dumps(
            {
                'ms': statistics.median(times),
                'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument(
        '--authors-repo',
        type=Path,
        required=True,
        help='checkout of XylonXu01/TSJNet (holds net.py)',
    )
    parser.add_argument('--size', type=int, nargs=2, default=(480, 640), metavar=('H', 'W'))
    parser.add_argument('--threads', type=int, default=2)
    parser.add_argument(
        '--repeats', type=int, default=1, help='rounds of authors / ours (default 1)'
    )
    parser.add_argument('--frames', type=int, default=1, help='timed forwards per run (default 1)')
    parser.add_argument(
        '--warmup', type=int, default=0, help='untimed forwards before them (default 0)'
    )
    parser.add_argument(
        '--band-mb',
        type=int,
        default=0,
        help='ours with cpu_band_mb (ResNeSt stages in row bands; 0 = whole maps, default)',
    )
    parser.add_argument('--child', choices=('authors', 'ours'), help=argparse.SUPPRESS)
    parser.add_argument('--output', type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0
    if not (args.authors_repo / 'net.py').is_file():
        parser.error(f'no net.py in {args.authors_repo}')
    if args.size[0] % 32 or args.size[1] % 32:
        parser.error("the authors' code needs H and W divisible by 32")
    import numpy as np

    load_before = os.getloadavg()
    print(
        f'{args.size[0]}x{args.size[1]}, {args.threads} thread(s), {args.repeats} round(s), '
        f'ours with cpu_band_mb {args.band_mb}; '
        f'load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}',
        flush=True,
    )
    env = {
        **os.environ,
        'OMP_NUM_THREADS': str(args.threads),
        'PYTHONPATH': f'{REPO}{os.pathsep}{os.environ.get("PYTHONPATH", "")}',
    }
    results: dict[str, list[dict]] = {'authors': [], 'ours': []}
    with tempfile.TemporaryDirectory() as tmp:
        for round_index in range(args.repeats):
            for who in ('authors', 'ours'):
                output = Path(tmp) / f'{who}.npy'
                command = [
                    sys.executable,
                    __file__,
                    '--child',
                    who,
                    '--output',
                    str(output),
                    '--authors-repo',
                    str(args.authors_repo),
                    '--size',
                    *map(str, args.size),
                    '--threads',
                    str(args.threads),
                    '--frames',
                    str(args.frames),
                    '--warmup',
                    str(args.warmup),
                    '--band-mb',
                    str(args.band_mb),
                ]
                done = subprocess.run(
                    command, env=env, capture_output=True, text=True, check=False
                )
                if done.returncode != 0:
                    print(done.stderr[-3000:], file=sys.stderr)
                    return 1
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[who].append(result)
                print(
                    f'round {round_index + 1} {who:7s}: {result["ms"]:10.1f} ms/frame, peak RSS '
                    f'{result["peak_rss_mb"]:8.0f} MB, load {os.getloadavg()[0]:.2f}',
                    flush=True,
                )
        difference = float(
            np.abs(np.load(Path(tmp) / 'authors.npy') - np.load(Path(tmp) / 'ours.npy')).max()
        )
    ms = {w: statistics.median(r['ms'] for r in results[w]) for w in results}
    rss = {w: statistics.median(r['peak_rss_mb'] for r in results[w]) for w in results}
    load_after = os.getloadavg()
    print(
        f'median ms/frame: authors {ms["authors"]:.1f}, ours {ms["ours"]:.1f} -> '
        f'speed-up {ms["authors"] / ms["ours"]:.2f}x'
    )
    print(
        f'median peak RSS: authors {rss["authors"]:.0f} MB, ours {rss["ours"]:.0f} MB -> '
        f'ratio ours/authors {rss["ours"] / rss["authors"]:.2f}'
    )
    print(f'fused images: max |authors - ours| = {difference:.2e}')
    print(f'load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
