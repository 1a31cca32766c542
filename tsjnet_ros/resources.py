"""Locate the package's shared files (config, launch) in a source checkout or an install."""

from __future__ import annotations

from pathlib import Path

PACKAGE = 'tsjnet_ros'


def share_dir() -> Path:
    """Return the folder holding ``config/`` and ``launch/``.

    A source checkout (editable install) has them beside the Python package; a colcon or
    pip install puts them under ``share/tsjnet_ros`` of the prefix.
    """
    source_root = Path(__file__).resolve().parents[1]
    if (source_root / 'config').is_dir() and (source_root / 'package.xml').is_file():
        return source_root
    try:
        from ament_index_python.packages import get_package_share_directory

        return Path(get_package_share_directory(PACKAGE))
    except (ImportError, LookupError) as exc:
        raise FileNotFoundError(f'cannot find the {PACKAGE} share directory: {exc}') from exc


def config_file(name: str = 'fusion.yaml') -> Path:
    path = share_dir() / 'config' / name
    if not path.is_file():
        raise FileNotFoundError(f'config file not found: {path}')
    return path


def default_checkpoint() -> Path:
    """Return the shipped ``tsjnet_rt`` checkpoint.

    It lies in ``models/`` of the checkout or of the share dir.
    """
    path = share_dir() / 'models' / 'tsjnet_rt.pt'
    if not path.is_file():
        raise FileNotFoundError(f"no shipped checkpoint at {path}; set the 'checkpoint' parameter")
    return path
