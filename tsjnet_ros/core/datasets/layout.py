"""Finding the IR images, visible images and annotations of a dataset folder.

Supported layouts (folder names are matched case-insensitively):

* ``folders``: an IR folder and a visible folder side by side, pairs matched by file stem.
  IR folder names: ir, infrared, inf, lwir, thermal, cropinfrared; visible folder names: vi,
  vis, visible, rgb, crop_lr_visible. Optional annotations next to them: ``labels/`` (YOLO
  txt, possibly in sub-folders per box set such as MSRS's ``labels/{ir,vi,fused}``),
  ``Annotations/`` or ``Annotation/`` (Pascal VOC XML), ``Segmentation_labels/`` (PNG class
  maps). Splits may sit above (``root/test/ir``) or below (``root/infrared/test``) the
  modality folders. This covers MSRS, M3FD, LLVIP, RoadScene and TNO as distributed.
* ``flat``: one folder holding both images of each pair, named ``NAME_ir.png`` and
  ``NAME_vi.png`` (separators ``_`` or ``-``; tokens as for the folder names).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from tsjnet_ros.core.datasets.image_io import IMAGE_SUFFIXES

IR_NAMES = ('ir', 'infrared', 'inf', 'lwir', 'thermal', 'cropinfrared')
VIS_NAMES = ('vi', 'vis', 'visible', 'rgb', 'crop_lr_visible')
YOLO_DIR_NAMES = ('labels',)
VOC_DIR_NAMES = ('annotations', 'annotation')
SEGMENTATION_DIR_NAMES = ('segmentation_labels', 'segmentation')
BOX_SOURCE_PREFERENCE = ('fused', 'vi', 'ir')

LAYOUTS = ('auto', 'folders', 'flat', 'msrs', 'llvip', 'm3fd', 'pairs', 'roadscene', 'tno')
_ANNOTATION_RULES = {
    # layout -> which annotation kinds are read
    'auto': ('yolo', 'voc', 'segmentation'),
    'folders': ('yolo', 'voc', 'segmentation'),
    'msrs': ('yolo', 'voc', 'segmentation'),
    'llvip': ('voc',),
    'm3fd': ('voc',),
    'pairs': (),
    'roadscene': (),
    'tno': (),
    'flat': (),
}


@dataclass
class ResolvedLayout:
    """Where each piece of a dataset lives."""

    kind: str  # "folders" or "flat"
    pairs: dict[str, tuple[Path, Path]]  # name -> (ir path, visible path)
    unmatched: list[str] = field(default_factory=list)
    yolo_dir: Path | None = None
    voc_dir: Path | None = None
    segmentation_dir: Path | None = None
    class_list_file: Path | None = None


def _child_dir(parent: Path, names: tuple[str, ...]) -> Path | None:
    if not parent.is_dir():
        return None
    children = {c.name.lower(): c for c in parent.iterdir() if c.is_dir()}
    for name in names:
        if name in children:
            return children[name]
    return None


def _images(folder: Path) -> dict[str, Path]:
    return {
        p.stem: p
        for p in sorted(folder.iterdir())
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    }


def _subdirs(folder: Path) -> list[str]:
    return sorted(c.name for c in folder.iterdir() if c.is_dir())


def _modality_dirs(root: Path, split: str | None) -> tuple[Path, Path, Path] | None:
    """Return (base, ir_dir, vis_dir) where base is the folder holding the annotations."""
    bases = [root / split, root] if split else [root]
    for base in bases:
        ir_dir, vis_dir = _child_dir(base, IR_NAMES), _child_dir(base, VIS_NAMES)
        if ir_dir is None or vis_dir is None:
            continue
        if split and base == root:
            ir_split, vis_split = (
                _child_dir(ir_dir, (split.lower(),)),
                _child_dir(vis_dir, (split.lower(),)),
            )
            if ir_split is None or vis_split is None:
                raise ValueError(f'split {split!r} not found under {ir_dir} and {vis_dir}')
            return base, ir_split, vis_split
        if not _images(ir_dir) and _subdirs(ir_dir):
            raise ValueError(
                f'{ir_dir} holds no images but the sub-folders {_subdirs(ir_dir)}; choose one '
                'with split=...'
            )
        return base, ir_dir, vis_dir
    return None


_SUFFIX_TOKEN = re.compile(r'^(?P<key>.+)[_-](?P<token>[A-Za-z]+)$')
_PREFIX_TOKEN = re.compile(r'^(?P<token>[A-Za-z]+)[_-](?P<key>.+)$')


def _split_modality(stem: str) -> tuple[str, str] | None:
    """('name', 'ir'|'vis') for stems like name_ir / IR-name, else None."""
    for pattern in (_SUFFIX_TOKEN, _PREFIX_TOKEN):
        m = pattern.match(stem)
        if m and m.group('token').lower() in IR_NAMES:
            return m.group('key'), 'ir'
        if m and m.group('token').lower() in VIS_NAMES:
            return m.group('key'), 'vis'
    return None


def _flat_pairs(root: Path) -> tuple[dict[str, tuple[Path, Path]], list[str]]:
    found: dict[str, dict[str, Path]] = {'ir': {}, 'vis': {}}
    for stem, path in _images(root).items():
        split = _split_modality(stem)
        if split is not None:
            found[split[1]][split[0]] = path
    ir, vis = found['ir'], found['vis']
    names = sorted(set(ir) & set(vis))
    unmatched = sorted(set(ir) ^ set(vis))
    return {n: (ir[n], vis[n]) for n in names}, unmatched


def _yolo_dir(labels: Path, box_source: str | None) -> Path:
    subdirs = {c.name.lower(): c for c in labels.iterdir() if c.is_dir()}
    has_own_txt = any(p.suffix == '.txt' and p.name != 'classes.txt' for p in labels.iterdir())
    if box_source is not None:
        if box_source.lower() not in subdirs:
            raise ValueError(
                f'box source {box_source!r} not found in {labels}; available: {sorted(subdirs)}'
            )
        return subdirs[box_source.lower()]
    if has_own_txt or not subdirs:
        return labels
    for preferred in BOX_SOURCE_PREFERENCE:
        if preferred in subdirs:
            return subdirs[preferred]
    return subdirs[sorted(subdirs)[0]]


def resolve_layout(
    root: Path, layout: str = 'auto', split: str | None = None, box_source: str | None = None
) -> ResolvedLayout:
    """Locate pairs and annotations under ``root`` following ``layout``."""
    if layout not in LAYOUTS:
        raise ValueError(f'unknown layout {layout!r}; expected one of {LAYOUTS}')
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f'dataset folder {root} does not exist or is not a folder')

    found = None if layout == 'flat' else _modality_dirs(root, split)
    if found is None:
        if layout not in ('auto', 'flat'):
            raise ValueError(
                f'no IR and visible folders under {root} (IR: {"/".join(IR_NAMES)}; visible: '
                f'{"/".join(VIS_NAMES)})'
            )
        pairs, unmatched = _flat_pairs(root)
        if not pairs:
            raise ValueError(
                f'no IR/visible pairs found in {root}: expected ir/ and vi/ folders or files '
                'named NAME_ir.* and NAME_vi.*'
            )
        return ResolvedLayout('flat', pairs, unmatched)

    base, ir_dir, vis_dir = found
    ir_images, vis_images = _images(ir_dir), _images(vis_dir)
    names = sorted(set(ir_images) & set(vis_images))
    if not names:
        raise ValueError(f'no images with matching names in {ir_dir} and {vis_dir}')
    resolved = ResolvedLayout(
        'folders',
        {n: (ir_images[n], vis_images[n]) for n in names},
        sorted(set(ir_images) ^ set(vis_images)),
    )
    kinds = _ANNOTATION_RULES[layout]
    annotation_bases = [base, root] if base != root else [root]
    for b in annotation_bases:
        if 'yolo' in kinds and resolved.yolo_dir is None and (d := _child_dir(b, YOLO_DIR_NAMES)):
            resolved.yolo_dir = _yolo_dir(d, box_source)
            for candidate in (
                resolved.yolo_dir / 'classes.txt',
                d / 'classes.txt',
                b / 'classes.txt',
            ):
                if candidate.is_file():
                    resolved.class_list_file = candidate
                    break
        if 'voc' in kinds and resolved.voc_dir is None and (d := _child_dir(b, VOC_DIR_NAMES)):
            resolved.voc_dir = d
            if resolved.class_list_file is None and (b / 'classes.txt').is_file():
                resolved.class_list_file = b / 'classes.txt'
        if 'segmentation' in kinds and resolved.segmentation_dir is None:
            resolved.segmentation_dir = _child_dir(b, SEGMENTATION_DIR_NAMES)
    if resolved.yolo_dir is not None and resolved.voc_dir is not None:
        resolved.voc_dir = None  # one box format per dataset: YOLO labels win
    return resolved
