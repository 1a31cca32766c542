"""Every entry point of the package makes idle OpenMP threads sleep instead of spin."""

import os
import subprocess
import sys

from tsjnet_ros.core.runtime.openmp_policy import prefer_passive_wait


def test_sets_passive_unless_the_user_chose():
    env = {}
    assert prefer_passive_wait(env) and env == {'OMP_WAIT_POLICY': 'PASSIVE'}
    chosen = {'OMP_WAIT_POLICY': 'ACTIVE'}
    assert not prefer_passive_wait(chosen) and chosen == {'OMP_WAIT_POLICY': 'ACTIVE'}
    spin = {'GOMP_SPINCOUNT': '1000'}
    assert not prefer_passive_wait(spin) and 'OMP_WAIT_POLICY' not in spin


def test_importing_the_package_sets_it_before_torch_loads():
    env = {k: v for k, v in os.environ.items() if k not in ('OMP_WAIT_POLICY', 'GOMP_SPINCOUNT')}
    code = (
        "import sys, tsjnet_ros, os; assert 'torch' not in sys.modules; "
        "import torch; print(os.environ.get('OMP_WAIT_POLICY'))"
    )
    out = subprocess.run(
        [sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == 'PASSIVE'
    env['OMP_WAIT_POLICY'] = 'ACTIVE'
    out = subprocess.run(
        [sys.executable, '-c', code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == 'ACTIVE'
