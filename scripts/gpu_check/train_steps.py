r"""How many training steps fit a time budget, from a short calibration run's ``train.csv``.

The calibration run logs ``seconds`` (since its loop started) every ``log_every`` steps;
the time per step is taken between the first and the last logged row (the first steps pay
for CUDA start-up and cuDNN kernel selection). The start-up cost is the calibration run's
wall time minus its last logged ``seconds``. Prints the step count:

    steps = (budget - start-up - reserve) / (seconds per step * margin), within [minimum, maximum]

(the margin absorbs a slower data loader later in the run and a busier machine).

    python scripts/gpu_check/train_steps.py RUN/train.csv --wall 31.5 --budget 150 \
        [--reserve 15] [--margin 1.25]
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('csv', type=Path)
    parser.add_argument('--wall', type=float, required=True, help="calibration run's wall time, s")
    parser.add_argument(
        '--budget', type=float, required=True, help='seconds the real run may take'
    )
    parser.add_argument(
        '--reserve', type=float, default=15.0, help='seconds kept for validation and export'
    )
    parser.add_argument(
        '--margin', type=float, default=1.25, help='factor on the measured time per step'
    )
    parser.add_argument('--minimum', type=int, default=10)
    parser.add_argument('--maximum', type=int, default=20000)
    args = parser.parse_args()
    rows = [r for r in csv.DictReader(args.csv.open()) if r.get('seconds')]
    if len(rows) < 2:
        print(f'train_steps: fewer than two logged rows in {args.csv}', file=sys.stderr)
        return 1
    first, last = rows[0], rows[-1]
    per_step = (float(last['seconds']) - float(first['seconds'])) / max(
        1, int(last['step']) - int(first['step'])
    )
    startup = max(0.0, args.wall - float(last['seconds']))
    steps = int((args.budget - startup - args.reserve) / max(per_step * args.margin, 1e-6))
    steps = max(args.minimum, min(args.maximum, steps))
    print(f'{steps} {per_step:.4f} {startup:.1f}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
