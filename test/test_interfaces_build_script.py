"""scripts/build_interfaces.sh: clear failures and the vision_msgs decision.

Only the fast paths are exercised here (argument and tool checks, --dry-run);
the full build is what scripts/setup.sh runs, and the interface tests check
its result.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SCRIPT = REPO_ROOT / 'scripts' / 'build_interfaces.sh'
BASH = shutil.which('bash')
VENV = Path(sys.prefix)


def _run(args, env=None, timeout=60):
    return subprocess.run(
        [BASH, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def _env_without_ros(**extra):
    env = {
        k: v for k, v in os.environ.items() if k not in ('AMENT_PREFIX_PATH', 'CMAKE_PREFIX_PATH')
    }
    env.update(extra)
    return env


def _build_tools_present():
    return all(shutil.which(t) for t in ('cmake', 'make')) and (
        shutil.which('g++') or shutil.which('c++')
    )


def test_missing_venv_is_named():
    result = _run(['/nonexistent/venv'])
    assert result.returncode != 0
    assert 'ERROR' in result.stderr and '/nonexistent/venv' in result.stderr


def test_unknown_option_is_rejected():
    result = _run(['--frobnicate'])
    assert result.returncode != 0
    assert "unknown option '--frobnicate'" in result.stderr


def test_missing_cmake_is_reported(tmp_path):
    # A PATH holding only what the script needs before its tool check.
    tools = tmp_path / 'bin'
    tools.mkdir()
    (tools / 'dirname').symlink_to(shutil.which('dirname'))
    result = _run([str(VENV)], env={'PATH': str(tools), 'HOME': str(tmp_path)})
    assert result.returncode != 0
    assert "'cmake' not found" in result.stderr


@pytest.mark.skipif(not _build_tools_present(), reason='cmake/make/g++ not installed')
def test_dry_run_defers_to_vision_msgs_of_another_prefix(tmp_path):
    if not (VENV / 'share' / 'rosidl_default_generators').is_dir():
        pytest.skip('this Python environment has no ROS 2 wheels')
    distro = tmp_path / 'opt_ros'
    (distro / 'share' / 'vision_msgs').mkdir(parents=True)
    (distro / 'share' / 'vision_msgs' / 'package.xml').write_text(
        '<package format="3"><name>vision_msgs</name></package>\n'
    )
    result = _run(['--dry-run', str(VENV)], env=_env_without_ros(AMENT_PREFIX_PATH=str(distro)))
    assert result.returncode == 0, result.stderr
    assert f'vision_msgs is provided by {distro}' in result.stdout
    assert 'would build tsjnet_msgs' in result.stdout
    assert 'would build vision_msgs' not in result.stdout


@pytest.mark.skipif(not _build_tools_present(), reason='cmake/make/g++ not installed')
def test_built_environment_is_up_to_date():
    """After scripts/build_interfaces.sh the current sources need no rebuild."""
    marker = VENV / 'share' / 'vision_msgs' / 'package.xml'
    if not marker.is_file() or 'tsjnet_ros compatibility build' not in marker.read_text():
        pytest.skip('this environment does not hold the vision_msgs stand-in')
    if not (VENV / '.tsjnet' / 'interfaces.stamp').is_file():
        pytest.skip('scripts/build_interfaces.sh has not been run for this environment')
    result = _run(['--dry-run', str(VENV)], env=_env_without_ros())
    assert result.returncode == 0, result.stderr
    assert 'interface packages are up to date' in result.stdout, (
        'interface sources changed since the last build; run scripts/build_interfaces.sh\n'
        + result.stdout
    )
