"""The bag typestore must hash every message type exactly as ROS 2 does.

``ros2 bag play`` and Foxglove match topics by type name and RIHS01 hash, so the hashes the
bag tools write into metadata.yaml are compared with the ones rosidl generated for the
installed interface packages (share/<pkg>/msg/<Type>.json).
"""

import json
from pathlib import Path

import pytest

from tsjnet_ros.core.bag.typestore import EXTRA_PACKAGES, bag_typestore, message_directory

REPO_ROOT = Path(__file__).resolve().parents[1]


def _share_dir(package: str) -> Path:
    module = pytest.importorskip(package)
    share = Path(module.__file__).resolve().parents[4] / 'share' / package / 'msg'
    if not share.is_dir():
        pytest.skip(f'no generated type descriptions at {share}')
    return share


def _own_hash(json_path: Path) -> str:
    data = json.loads(json_path.read_text())
    name = data['type_description_msg']['type_description']['type_name']
    return next(e['hash_string'] for e in data['type_hashes'] if e['type_name'] == name)


@pytest.mark.parametrize('package', EXTRA_PACKAGES)
def test_every_added_type_hashes_like_rosidl(package):
    share = _share_dir(package)
    store = bag_typestore()
    json_files = sorted(share.glob('*.json'))
    assert json_files
    for json_path in json_files:
        name = f'{package}/msg/{json_path.stem}'
        assert store.hash_rihs01(name) == _own_hash(json_path), name


# the distro types the bag tools write or play
@pytest.mark.parametrize(
    'name',
    [
        'sensor_msgs/msg/Image',
        'std_msgs/msg/Header',
        'rosgraph_msgs/msg/Clock',
        'geometry_msgs/msg/PoseWithCovariance',
        'builtin_interfaces/msg/Time',
    ],
)
def test_written_distro_types_hash_like_rosidl(name):
    package, _, short = name.split('/')
    json_path = _share_dir(package) / f'{short}.json'
    assert bag_typestore().hash_rihs01(name) == _own_hash(json_path)


def test_extra_packages_are_registered_from_msg_files():
    store = bag_typestore()
    for package in EXTRA_PACKAGES:
        folder = message_directory(package)
        names = {p.stem for p in folder.glob('*.msg')}
        assert names, folder
        assert all(f'{package}/msg/{n}' in store.fielddefs for n in names)
    assert 'vision_msgs/msg/Detection2DArray' in store.fielddefs
    assert 'tsjnet_msgs/msg/FusedFrame' in store.fielddefs


def test_message_directory_rejects_other_packages():
    with pytest.raises(ValueError, match='unknown interface package'):
        message_directory('geometry_msgs')
