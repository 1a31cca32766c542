"""Class tables of ONNX models: a labels file, or the names an exporter stored in the model.

Labels files: plain text with one class name per line (line n = class id n; the
``coco.names`` convention), or YAML with a ``names`` list or ``{id: name}`` mapping (the
Ultralytics dataset file). Ultralytics also writes ``names`` into the ONNX metadata as a
Python dict literal, read here when no labels file is given.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml


def _from_mapping_or_list(value: Any, source: str) -> list[str]:
    if isinstance(value, Mapping):
        try:
            ids = sorted(int(k) for k in value)
        except (TypeError, ValueError):
            raise ValueError(
                f'{source}: class ids must be integers, got {list(value)[:5]}'
            ) from None
        if ids != list(range(len(ids))):
            raise ValueError(
                f'{source}: class ids must be 0..{len(ids) - 1} without gaps, got {ids[:10]}'
            )
        by_id = {int(k): str(v) for k, v in value.items()}
        return [by_id[i] for i in ids]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    raise ValueError(f'{source}: expected a list of class names or an {{id: name}} mapping')


def read_labels(path: str | Path) -> list[str]:
    """Read class names from ``path``.

    ``.yaml``/``.yml``: key ``names``; anything else: one per line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        raise ValueError(f'cannot read labels file {path}: {exc.strerror or exc}') from None
    if path.suffix.lower() in ('.yaml', '.yml'):
        try:
            document = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f'labels file {path} is not valid YAML: {exc}') from None
        names = _from_mapping_or_list(
            document.get('names') if isinstance(document, dict) else document, str(path)
        )
    else:
        names = [line.strip() for line in text.splitlines()]
        while names and not names[-1]:
            names.pop()
    if not names:
        raise ValueError(f'labels file {path} names no classes')
    if any(not n for n in names):
        raise ValueError(f'labels file {path}: class {names.index("")} has an empty name')
    return names


def labels_from_metadata(metadata: Mapping[str, str]) -> list[str] | None:
    """Read ``names`` from an ONNX model's metadata (Ultralytics export).

    None when absent or unreadable.
    """
    text = metadata.get('names')
    if not text:
        return None
    try:
        return _from_mapping_or_list(ast.literal_eval(text), "model metadata 'names'")
    except (ValueError, SyntaxError):
        return None
