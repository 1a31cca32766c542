r"""Copy an MSRS-layout pair folder with its images re-encoded as JPEG (a small copy to carry).

IR is written as 8-bit grey JPEG, visible as colour JPEG, both at ``--quality``; YOLO box
files (``labels/{ir,vi,fused}/NAME.txt``, ``labels/classes.txt``) are copied unchanged.
``--pairs N`` keeps the names listed in ``--keep`` (the validation split) plus the first
others up to N pairs. Prints the pair count and the bytes written.

    python scripts/gpu_check/pack_data.py SRC DST [--quality 95] [--pairs N] \
        [--keep config/train/msrs_val.txt]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import cv2


def _names(path: Path | None) -> set[str]:
    if path is None:
        return set()
    return {
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith('#')
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', type=Path)
    parser.add_argument('dst', type=Path)
    parser.add_argument('--quality', type=int, default=95)
    parser.add_argument('--pairs', type=int, default=0, help='0 = all pairs')
    parser.add_argument('--keep', type=Path, help='names always packed (one per line)')
    args = parser.parse_args()
    ir_files = {p.stem: p for p in sorted((args.src / 'ir').iterdir()) if p.is_file()}
    vi_files = {p.stem: p for p in sorted((args.src / 'vi').iterdir()) if p.is_file()}
    names = sorted(set(ir_files) & set(vi_files))
    if not names:
        print(f'no IR/visible pairs under {args.src}', file=sys.stderr)
        return 1
    if args.pairs:
        keep = _names(args.keep) & set(names)
        names = sorted(
            keep | set([n for n in names if n not in keep][: max(0, args.pairs - len(keep))])
        )
    if args.dst.exists():
        shutil.rmtree(args.dst)
    written = 0
    params = [cv2.IMWRITE_JPEG_QUALITY, args.quality]
    for modality, files, flag in (
        ('ir', ir_files, cv2.IMREAD_GRAYSCALE),
        ('vi', vi_files, cv2.IMREAD_COLOR),
    ):
        (args.dst / modality).mkdir(parents=True)
        for name in names:
            image = cv2.imread(str(files[name]), flag)
            if image is None:
                print(f'cannot read {files[name]}', file=sys.stderr)
                return 1
            out = args.dst / modality / f'{name}.jpg'
            if not cv2.imwrite(str(out), image, params):
                print(f'cannot write {out}', file=sys.stderr)
                return 1
            written += out.stat().st_size
    labels = args.src / 'labels'
    if labels.is_dir():
        for path in sorted(labels.rglob('*.txt')):
            if path.parent == labels or path.stem in names:
                target = args.dst / 'labels' / path.relative_to(labels)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(path, target)
                written += target.stat().st_size
    print(
        f'packed {len(names)} pairs of {args.src} into {args.dst}: {written / 2**20:.1f} MiB '
        f'(JPEG quality {args.quality}, labels copied)'
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
