"""The message types the bag tools read and write, with ROS 2's own type hashes.

``rosbags`` ships sensor_msgs, std_msgs, geometry_msgs and rosgraph_msgs for each distro.
vision_msgs and tsjnet_msgs are added from their ``.msg`` text, so the CDR layout and the
RIHS01 hash written into a bag are the ones ``ros2 bag play``, rviz2 and Foxglove expect.
The ``.msg`` files are taken from the installed interface packages when they are found
(that is what the running nodes use) and otherwise from this source checkout.
"""

from __future__ import annotations

import importlib.util
import os
from functools import lru_cache
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

IMAGE = 'sensor_msgs/msg/Image'
COMPRESSED_IMAGE = 'sensor_msgs/msg/CompressedImage'  # image_transport "compressed"
DETECTIONS = 'vision_msgs/msg/Detection2DArray'
CLOCK = 'rosgraph_msgs/msg/Clock'
FUSED_FRAME = 'tsjnet_msgs/msg/FusedFrame'

# ROS 2 Kilted is the distro of the wheels the project installs; the common message
# definitions used here are identical from Iron on, and so are their hashes.
BASE_STORE = Stores.ROS2_KILTED
EXTRA_PACKAGES = ('vision_msgs', 'tsjnet_msgs')

_SOURCE_ROOT = Path(__file__).resolve().parents[3]
_SOURCE_DIRS = {
    'vision_msgs': _SOURCE_ROOT / 'interfaces' / 'vision_msgs' / 'msg',
    'tsjnet_msgs': _SOURCE_ROOT / 'tsjnet_msgs' / 'msg',
}


def _installed_msg_dir(package: str) -> Path | None:
    """``share/<package>/msg`` of an installed interface package, if one is found."""
    for prefix in filter(None, os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep)):
        candidate = Path(prefix) / 'share' / package / 'msg'
        if candidate.is_dir():
            return candidate
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is not None and spec.origin:
        # <prefix>/lib/pythonX.Y/site-packages/<package>/__init__.py
        parents = Path(spec.origin).resolve().parents
        if len(parents) > 4:
            candidate = parents[4] / 'share' / package / 'msg'
            if candidate.is_dir():
                return candidate
    return None


def message_directory(package: str) -> Path:
    """Where the ``.msg`` files of ``package`` (vision_msgs or tsjnet_msgs) are read from."""
    if package not in EXTRA_PACKAGES:
        raise ValueError(
            f'unknown interface package {package!r}; expected one of {EXTRA_PACKAGES}'
        )
    installed = _installed_msg_dir(package)
    if installed is not None and any(installed.glob('*.msg')):
        return installed
    source = _SOURCE_DIRS[package]
    if source.is_dir() and any(source.glob('*.msg')):
        return source
    raise FileNotFoundError(
        f'no .msg files for {package}: not installed (AMENT_PREFIX_PATH or the Python '
        f'environment) and not at {source}'
    )


@lru_cache(maxsize=1)
def bag_typestore() -> Typestore:
    """Return a typestore with the distro's standard messages plus vision_msgs and tsjnet_msgs."""
    store = get_typestore(BASE_STORE)
    added = {}
    for package in EXTRA_PACKAGES:
        for path in sorted(message_directory(package).glob('*.msg')):
            added.update(get_types_from_msg(path.read_text(), f'{package}/msg/{path.stem}'))
    store.register(added)
    return store
