"""The colcon route for ROS distribution users builds both packages of this repo.

The repository root is the ament_python package tsjnet_ros and tsjnet_msgs lives
inside it. colcon stops descending at a package directory, so a plain
`colcon build` would never see tsjnet_msgs; naming its directory as an extra
base path does:

    colcon build --base-paths src src/tsjnet_ros/tsjnet_msgs

This test clones the working tree into a fresh workspace under src/, runs that
command with the colcon of the current Python environment against the ROS prefix
of that environment, and checks what a user relies on afterwards.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
PREFIX = Path(sys.prefix)
COLCON = Path(sys.executable).parent / 'colcon'
PY_DIR = f'python{sys.version_info.major}.{sys.version_info.minor}'
SKIP_DIRS = {'.git', '.venv', 'build', 'install', 'log', '__pycache__', '.pytest_cache'}


def _missing_prerequisite():
    if not COLCON.is_file():
        return f'colcon is not installed next to {sys.executable}'
    for tool in ('cmake', 'make'):
        if shutil.which(tool) is None:
            return f'{tool} is not on PATH'
    if shutil.which('g++') is None and shutil.which('c++') is None:
        return 'no C++ compiler on PATH'
    if not (REPO_ROOT / 'package.xml').is_file() or not (REPO_ROOT / 'setup.py').is_file():
        return 'the repository root has no package.xml/setup.py'
    prefixes = [PREFIX] + [
        Path(p) for p in os.environ.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p
    ]
    if not any((p / 'share' / 'vision_msgs' / 'package.xml').is_file() for p in prefixes):
        return 'no vision_msgs installed; run scripts/build_interfaces.sh first'
    return None


def _source_files():
    """Files a clone of the working tree would have (tracked plus untracked, not ignored)."""
    try:
        listed = (
            subprocess.run(
                ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                cwd=REPO_ROOT,
                check=True,
                capture_output=True,
            )
            .stdout.decode()
            .split('\0')
        )
        return [Path(p) for p in listed if p and (REPO_ROOT / p).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [
            p.relative_to(REPO_ROOT)
            for p in REPO_ROOT.rglob('*')
            if p.is_file() and not SKIP_DIRS.intersection(p.relative_to(REPO_ROOT).parts)
        ]


def _colcon_env(workspace: Path) -> dict:
    env = dict(os.environ)
    extra = [
        p for p in env.get('AMENT_PREFIX_PATH', '').split(os.pathsep) if p and Path(p) != PREFIX
    ]
    env['PATH'] = os.pathsep.join([str(PREFIX / 'bin'), env.get('PATH', '')])
    env['AMENT_PREFIX_PATH'] = os.pathsep.join([str(PREFIX)] + extra)
    env['CMAKE_PREFIX_PATH'] = os.pathsep.join([str(PREFIX)] + extra)
    env['COLCON_HOME'] = str(workspace / '.colcon_home')  # no user defaults
    env.pop('PYTHONPATH', None)
    return env


@pytest.fixture(scope='module')
def workspace(tmp_path_factory):
    reason = _missing_prerequisite()
    if reason:
        pytest.skip(reason)
    ws = tmp_path_factory.mktemp('colcon_ws')
    package_root = ws / 'src' / 'tsjnet_ros'
    for rel in _source_files():
        target = package_root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target)
    command = [
        str(COLCON),
        'build',
        '--base-paths',
        'src',
        'src/tsjnet_ros/tsjnet_msgs',
        '--cmake-args',
        f'-DPython3_EXECUTABLE={sys.executable}',
        '-DBUILD_TESTING=OFF',
    ]
    result = subprocess.run(
        command,
        cwd=ws,
        env=_colcon_env(ws),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return ws


def test_both_packages_are_discovered_and_built(workspace):
    built = sorted(p.name for p in (workspace / 'install').iterdir() if p.is_dir())
    assert built == ['tsjnet_msgs', 'tsjnet_ros']


def test_tsjnet_msgs_installed(workspace):
    install = workspace / 'install' / 'tsjnet_msgs'
    module_dir = install / 'lib' / PY_DIR / 'site-packages' / 'tsjnet_msgs' / 'msg'
    assert (module_dir / '_fused_frame.py').is_file()
    assert (module_dir / '_fusion_status.py').is_file()
    assert (install / 'share' / 'tsjnet_msgs' / 'msg' / 'FusedFrame.msg').is_file()
    assert (install / 'share' / 'tsjnet_msgs' / 'msg' / 'FusedFrame.json').is_file()


def test_tsjnet_ros_share_files_installed(workspace):
    share = workspace / 'install' / 'tsjnet_ros' / 'share'
    source = workspace / 'src' / 'tsjnet_ros'
    installed_xml = share / 'tsjnet_ros' / 'package.xml'
    assert installed_xml.read_bytes() == (source / 'package.xml').read_bytes()
    assert (share / 'ament_index' / 'resource_index' / 'packages' / 'tsjnet_ros').is_file()
    for folder, patterns in (('launch', ('*.launch.py',)), ('config', ('*.yaml', '*.rviz'))):
        expected = {p.name for pattern in patterns for p in (source / folder).glob(pattern)}
        installed = {p.name for p in (share / 'tsjnet_ros' / folder).glob('*')}
        assert expected <= installed, (
            f'{folder}/ files not installed: {sorted(expected - installed)}'
        )


def test_tsjnet_ros_executables_where_ros2_run_looks(workspace):
    lib = workspace / 'install' / 'tsjnet_ros' / 'lib' / 'tsjnet_ros'
    executables = [p for p in lib.iterdir() if p.is_file() and os.access(p, os.X_OK)]
    assert executables, f'no executables in {lib}'


def test_sourced_workspace_provides_both_packages(workspace):
    """After `source install/setup.bash` the workspace's own builds are the ones imported."""
    probe = (
        'import tsjnet_msgs, tsjnet_ros\n'
        'from rclpy.serialization import serialize_message, deserialize_message\n'
        'from tsjnet_msgs.msg import FusedFrame\n'
        "frame = FusedFrame(backend='probe', skipped_pairs=2)\n"
        'assert deserialize_message(serialize_message(frame), FusedFrame) == frame\n'
        'print(tsjnet_msgs.__file__)\n'
        'print(tsjnet_ros.__file__)\n'
    )
    env = _colcon_env(workspace)
    result = subprocess.run(
        ['bash', '-c', 'source install/setup.bash && exec "$0" -c "$1"', sys.executable, probe],
        cwd=workspace,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    msgs_file, ros_file = (Path(line) for line in result.stdout.split())
    install = (workspace / 'install').resolve()
    assert install / 'tsjnet_msgs' in msgs_file.resolve().parents
    assert install / 'tsjnet_ros' in ros_file.resolve().parents
