"""package.xml declares exactly the packages the installed code and launch file import."""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET

from conftest import REPO_ROOT

# Python module -> rosdep key (ROS packages are named like their Python module).
THIRD_PARTY_KEYS = {
    'numpy': 'python3-numpy',
    'cv2': 'python3-opencv',
    'yaml': 'python3-yaml',
    'torch': 'python3-torch',
    'torchvision': 'python3-torchvision',
    'timm': 'python3-timm-pip',
    'rosbags': 'python3-rosbags-pip',
    # rosdep has no key for the mcap library alone; mcap-ros2-support installs it.
    'mcap': 'mcap-ros2-support',
    'tqdm': 'python3-tqdm',
    'matplotlib': 'python3-matplotlib',
    'onnxruntime': 'python3-onnxruntime-pip',
}
ROS_PACKAGES = {
    'rclpy',
    'rcl_interfaces',
    'std_msgs',
    'sensor_msgs',
    'builtin_interfaces',
    'diagnostic_msgs',
    'rosgraph_msgs',
    'vision_msgs',
    'tsjnet_msgs',
    'ament_index_python',
    'launch',
    'launch_ros',
}
# Imported only inside a try block with a fallback, and without a rosdep key: natten is an
# optional CUDA kernel for neighbourhood attention (the pure-PyTorch path runs without it).
OPTIONAL_WITHOUT_KEY = {'natten'}


def imported_modules() -> set[str]:
    files = list((REPO_ROOT / 'tsjnet_ros').rglob('*.py')) + list(
        (REPO_ROOT / 'launch').glob('*.py')
    )
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found.update(alias.name.split('.')[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split('.')[0])
    return (
        found - set(sys.stdlib_module_names) - {'tsjnet_ros', '__future__'} - OPTIONAL_WITHOUT_KEY
    )


def declared(kind: str) -> set[str]:
    root = ET.parse(REPO_ROOT / 'package.xml').getroot()
    return {e.text.strip() for e in root.findall(kind)} | {
        e.text.strip() for e in root.findall('depend')
    }


def test_every_import_has_a_known_package_key():
    unknown = imported_modules() - set(THIRD_PARTY_KEYS) - ROS_PACKAGES
    assert not unknown, (
        f"imported modules without a package.xml key in this test's table: {sorted(unknown)}"
    )


def test_package_xml_declares_exactly_the_imported_packages():
    needed = {THIRD_PARTY_KEYS.get(m, m) for m in imported_modules()}
    runtime = declared('exec_depend')
    assert sorted(needed - runtime) == [], 'imported but not declared'
    assert sorted(runtime - needed) == [], 'declared but not imported'


def test_tests_declare_pytest():
    assert 'python3-pytest' in declared('test_depend')
