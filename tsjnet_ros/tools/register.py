"""tsjnet-register: estimate the IR-to-visible homography from matched points, write its YAML.

    tsjnet-register points.csv --ir-size 640x512 --visible-size 1280x720 -o registration.yaml

Points: a CSV with columns ir_x, ir_y, visible_x, visible_y (or YAML ``pairs:``), e.g. the
corners of a heated checkerboard clicked or detected in both images. The YAML is what the
fusion node's ``registration`` parameter reads.
"""

from __future__ import annotations

import argparse
import sys

from tsjnet_ros.core.preparation.registration import estimate_registration, load_point_pairs
from tsjnet_ros.tools.arg_types import in_range


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected WIDTHxHEIGHT, got {text!r}') from None
    return width, height


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='tsjnet-register', description=__doc__.split('\n\n')[0])
    parser.add_argument(
        'points', help="matched points: CSV (ir_x,ir_y,visible_x,visible_y) or YAML with 'pairs'"
    )
    parser.add_argument(
        '--ir-size', type=_size, required=True, help='IR image size the points are in, WxH'
    )
    parser.add_argument(
        '--visible-size',
        type=_size,
        required=True,
        help='visible image size the points are in, WxH',
    )
    parser.add_argument(
        '--ransac',
        type=in_range(float, 0.0),
        default=3.0,
        help='RANSAC threshold in visible pixels (0: all points)',
    )
    parser.add_argument('-o', '--output', default='registration.yaml', help='YAML to write')
    args = parser.parse_args(argv)
    try:
        ir_points, visible_points = load_point_pairs(args.points)
        fit = estimate_registration(
            ir_points, visible_points, args.ir_size, args.visible_size, args.ransac
        )
        summary = (
            f'homography from {fit.inliers} of {len(ir_points)} point pairs, '
            f'RMS reprojection error {fit.rms_error:.2f} visible px'
        )
        fit.registration.save(
            args.output, comment=f'IR -> visible, tsjnet-register {args.points}\n{summary}'
        )
    except (OSError, ValueError, KeyError) as exc:
        print(f'tsjnet-register: {exc}', file=sys.stderr)
        return 2
    print(f'{summary}; written to {args.output}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
