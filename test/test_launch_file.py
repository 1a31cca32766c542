"""The launch file, where a ROS 2 distro provides launch_ros; its syntax everywhere."""

from __future__ import annotations

import ast
import importlib.util

import pytest
from conftest import REPO_ROOT

LAUNCH_FILE = REPO_ROOT / 'launch' / 'fusion.launch.py'


def test_launch_file_parses_and_declares_arguments():
    ast.parse(LAUNCH_FILE.read_text())
    from tsjnet_ros.launch_plan import ARGUMENTS

    assert {
        'namespace',
        'params_file',
        'use_synthetic',
        'ir_topic',
        'visible_topic',
        'use_sim_time',
        'composed',
        'overlay',
        'record',
        'record_dir',
        'rviz',
        'fastdds_profile',
    } <= set(ARGUMENTS)
    import re

    from tsjnet_ros.launch_plan import plan_processes

    scripts = set(re.findall(r'[\'"](\w+) = tsjnet_ros', (REPO_ROOT / 'setup.py').read_text()))
    for composed in ('false', 'true'):
        specs = plan_processes(
            {'composed': composed, 'record': 'true', 'rviz': 'true'},
            REPO_ROOT,
            lambda p: '/opt',
            environ={},
        )
        executables = {s.executable for s in specs if s.package == 'tsjnet_ros'}
        assert executables <= scripts, (
            'the launch file names an executable setup.py does not install'
        )


@pytest.mark.skipif(
    importlib.util.find_spec('launch_ros') is None,
    reason='launch_ros is not installed (needs a ROS 2 distro; not available from PyPI)',
)
def test_launch_description_builds():  # pragma: no cover - runs only on a distro
    from launch import LaunchDescription

    spec = importlib.util.spec_from_file_location('fusion_launch', LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, LaunchDescription)
    from tsjnet_ros.launch_plan import ARGUMENTS

    assert len(description.entities) == len(ARGUMENTS) + 1  # the arguments + the node builder


def test_rviz_config_shows_the_three_images():
    import yaml

    config = yaml.safe_load((REPO_ROOT / 'config' / 'tsjnet.rviz').read_text())
    displays = config['Visualization Manager']['Displays']
    topics = {d['Topic']['Value'] for d in displays if d['Class'] == 'rviz_default_plugins/Image'}
    assert topics == {'/fused/image_color', '/debug/overlay', '/segmentation/color'}


def _installed_package_missing() -> str | None:
    if (
        importlib.util.find_spec('launch_ros') is None
        or importlib.util.find_spec('ros2launch') is None
    ):
        return (
            'launch_ros/ros2launch are not installed '
            '(need a ROS 2 distro; not available from PyPI)'
        )
    from ament_index_python.packages import PackageNotFoundError, get_package_share_directory

    try:
        get_package_share_directory('tsjnet_ros')
    except PackageNotFoundError:
        return (
            'tsjnet_ros is not installed in an ament prefix '
            '(colcon build, then source install/setup.bash)'
        )
    return None


ROS2_LAUNCH = (
    'import sys; from ros2launch.api import get_share_file_path_from_package as f, '
    'launch_a_launch_file as l; '
    "sys.exit(l(launch_file_path=f(package_name='tsjnet_ros', file_name='fusion.launch.py'), "
    'launch_file_arguments=sys.argv[1:], noninteractive=True))'
)  # what `ros2 launch` runs


@pytest.mark.skipif(
    _installed_package_missing() is not None, reason=str(_installed_package_missing())
)
@pytest.mark.parametrize('arguments', [[], ['composed:=true']], ids=['processes', 'composed'])
def test_launch_stops_cleanly_on_ctrl_c(
    tmp_path, arguments
):  # pragma: no cover - runs only on a distro
    import os
    import signal
    import sys

    from process_harness import LAUNCH_SIGTERM_AFTER_S, Process, failures

    launch = Process(
        [sys.executable, '-c', ROS2_LAUNCH, *arguments], tmp_path / 'launch.log', cwd=tmp_path
    )
    try:
        assert launch.wait_for_output('active: fusing', timeout=300), launch.output()
        os.killpg(
            launch.proc.pid, signal.SIGINT
        )  # Ctrl-C in a terminal reaches launch and every node
        code, seconds = launch.stop(signal.SIGINT, repeat=0)
        log = launch.output()
        assert code == 0 and seconds < LAUNCH_SIGTERM_AFTER_S, (code, seconds, log)
        assert (
            'process has died' not in log and failures(log.replace('[ERROR] [launch]', '')) == []
        ), log
        assert log.count('process has finished cleanly') == (1 if arguments else 3)
        assert list(tmp_path.iterdir()) == [tmp_path / 'launch.log']
    finally:
        launch.close()


@pytest.mark.skipif(
    _installed_package_missing() is not None, reason=str(_installed_package_missing())
)
def test_launch_refuses_a_missing_params_file_before_starting_anything(
    tmp_path,
):  # pragma: no cover
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, '-c', ROS2_LAUNCH, f'params_file:={tmp_path / "none.yaml"}'],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and 'params_file not found' in proc.stdout + proc.stderr
    assert 'process started' not in proc.stdout + proc.stderr
