"""The tree follows ROS 2 Python style as ``ruff.toml`` sets it (99 columns, single quotes).

The same checks as ament_flake8 / ament_pep257 in a distro's ``colcon test``, through ruff,
which installs from PyPI with the rest of the venv.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO_ROOT


def _ruff() -> str:
    beside_python = Path(sys.executable).with_name('ruff')
    found = str(beside_python) if beside_python.is_file() else shutil.which('ruff')
    if found is None:
        pytest.fail('ruff is not installed: run scripts/setup.sh (requirements/venv.txt lists it)')
    return found


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_ruff(), *args, '--no-cache', str(REPO_ROOT)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_lint_rules_hold():
    done = _run('check', '--output-format', 'concise')
    assert done.returncode == 0, (
        f'ruff check found problems:\n{done.stdout[-6000:]}{done.stderr[-2000:]}'
    )


def test_formatting_holds():
    done = _run('format', '--check')
    assert done.returncode == 0, (
        f'files ruff format would change:\n{done.stdout[-6000:]}{done.stderr[-2000:]}'
    )
