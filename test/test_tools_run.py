"""`tsjnet-run` (the main job).

It stops at the first failed step and reads bags with other topic names.
"""

from __future__ import annotations

import json

import pytest
from bag_making import make_bag

from tsjnet_ros.tools.run import main as run_main

SMALL = ['--duration', '0.3', '--width', '64', '--height', '48', '--no-progress']


@pytest.fixture
def camera_bag(tmp_path):
    """Make a small bag whose cameras are on a RealSense/FLIR-like pair of topics."""
    bag = tmp_path / 'bag'
    make_bag(bag, *SMALL, ir_topic='/thermal/image_raw', visible_topic='/color/image_raw')
    return bag


def test_bad_backend_or_checkpoint_stops_before_any_step(tmp_path, capsys):
    out = tmp_path / 'out'
    assert run_main(['--out', str(out), '--backend', 'nope', '--no-progress']) == 2
    err = capsys.readouterr().err
    assert "stopped: unknown --backend 'nope'" in err and 'laplacian_pyramid' in err
    assert (
        run_main(['--out', str(out), '--checkpoint', str(tmp_path / 'none.pt'), '--no-progress'])
        == 2
    )
    assert 'none.pt: no such file' in capsys.readouterr().err
    assert not out.exists()  # no step ran


def test_missing_topic_stops_at_the_replay_with_the_reason(camera_bag, tmp_path, capsys):
    out = tmp_path / 'out'
    assert (
        run_main([str(camera_bag), '--out', str(out), '--backend', 'average', '--no-progress'])
        == 2
    )
    captured = capsys.readouterr()
    assert 'stopped: step 2/3 (live replay) failed' in captured.err and '/ir/image' in captured.err
    assert (
        '3/3' not in captured.out and 'results' not in captured.out
    )  # nothing after the failed step
    assert not (out / 'report').exists()


@pytest.mark.filterwarnings('ignore::DeprecationWarning')
def test_topic_options_run_the_whole_job_on_a_bag_with_other_topics(camera_bag, tmp_path, capsys):
    pytest.importorskip('tsjnet_ros.nodes.fusion_node', reason='needs the interface packages')
    out = tmp_path / 'out'
    code = run_main(
        [
            str(camera_bag),
            '--out',
            str(out),
            '--backend',
            'average',
            '--no-progress',
            '--ir-topic',
            '/thermal/image_raw',
            '--visible-topic',
            '/color/image_raw',
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    trial = json.loads((out / 'replay.json').read_text())['trial']
    assert trial['frames_received'] > 0 and trial['unmatched_outputs'] == 0
    assert (out / 'report' / 'report.md').is_file() and 'live replay:' in captured.out
    assert 'nan' not in captured.out
