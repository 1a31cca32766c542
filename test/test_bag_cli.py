"""tsjnet-bag from the command line: exit status and messages for bad input."""

import json

import pytest
from bag_making import make_bag

from tsjnet_ros.tools.bag import main

SMALL = ['--duration', '0.3', '--width', '64', '--height', '48', '--no-progress']


@pytest.fixture
def bag(tmp_path):
    path = tmp_path / 'bag'
    assert main(['make', '--out', str(path), *SMALL]) == 0
    return path


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_make_refuses_to_overwrite_without_force(bag, capsys):
    code, _, err = _run(capsys, 'make', '--out', bag, *SMALL)
    assert code == 2 and 'already exists; pass --force' in err
    code, out, _ = _run(capsys, 'make', '--out', bag, '--force', '--storage', 'sqlite3', *SMALL)
    assert code == 0 and 'sqlite3' in out and (bag / 'bag.db3').is_file()


def test_make_rejects_bad_settings(tmp_path, capsys):
    code, _, err = _run(capsys, 'make', '--out', tmp_path / 'x', '--ir-rate', '0', *SMALL)
    assert code == 2 and 'ir_rate must be in [0.1, 1000] Hz' in err
    code, _, err = _run(
        capsys, 'make', '--out', tmp_path / 'x', '--source', tmp_path / 'nowhere', *SMALL
    )
    assert code == 2 and 'no such folder' in err


def test_evaluate_names_a_missing_topic_and_lists_the_others(bag, tmp_path, capsys):
    code, _, err = _run(
        capsys,
        'evaluate',
        bag,
        '--out',
        tmp_path / 'r',
        '--ir-topic',
        '/thermal/image',
        '--no-progress',
    )
    assert code == 2
    assert (
        'topic /thermal/image is not in bag' in err and '/ir/image (sensor_msgs/msg/Image)' in err
    )
    assert not (tmp_path / 'r' / 'fused_bag').exists()


def test_evaluate_names_a_topic_of_the_wrong_type(bag, tmp_path, capsys):
    code, _, err = _run(
        capsys,
        'evaluate',
        bag,
        '--out',
        tmp_path / 'r',
        '--ir-topic',
        '/ground_truth/detections',
        '--no-progress',
    )
    assert code == 2
    assert (
        'topic /ground_truth/detections has type vision_msgs/msg/Detection2DArray, '
        'expected sensor_msgs/msg/Image' in err
    )


def test_evaluate_explains_unsynchronisable_stamps(tmp_path, capsys):
    bag = tmp_path / 'offset'
    assert main(['make', '--out', str(bag), '--ir-clock-offset', '3', *SMALL]) == 0
    code, _, err = _run(capsys, 'evaluate', bag, '--out', tmp_path / 'r', '--no-progress')
    assert (
        code == 2
        and 'no IR/visible pair can be formed' in err
        and '2.7' in err
        and 'apart (different clocks?)' in err
    )


def test_evaluate_rejects_unknown_metrics_and_missing_bags(bag, tmp_path, capsys):
    code, _, err = _run(
        capsys, 'evaluate', bag, '--out', tmp_path / 'r', '--metrics', 'EN,XYZ', '--no-progress'
    )
    assert code == 2 and "unknown metrics ['XYZ']" in err
    code, _, err = _run(
        capsys, 'evaluate', tmp_path / 'none', '--out', tmp_path / 'r', '--no-progress'
    )
    assert code == 2 and 'bag not found' in err
    code, _, err = _run(
        capsys, 'evaluate', bag, '--out', tmp_path / 'r', '--backend', 'nope', '--no-progress'
    )
    assert code == 2 and "'nope'" in err


def test_evaluate_of_a_truncated_bag_keeps_partial_results_and_exits_1(tmp_path, capsys):
    bag = tmp_path / 'big'  # frames large enough to be spread over several chunks
    make_bag(bag, duration=0.3, width=400, height=300, no_progress=True)
    storage = bag / 'big.mcap'
    data = storage.read_bytes()
    storage.write_bytes(data[: len(data) * 2 // 3])
    code, out, err = _run(
        capsys, 'evaluate', bag, '--out', tmp_path / 'r', '--metrics', 'EN', '--no-progress'
    )
    assert code == 1
    summary = json.loads((tmp_path / 'r' / 'report.json').read_text())['summary']
    assert 0 < summary['pairs']['processed'] < 9
    truncated = [p for p in summary['problems'] if p['kind'] == 'truncated']
    assert truncated and truncated[0]['offset'] > 0 and 'byte offset' in err
    assert 'problem' in out and 'Problems' in (tmp_path / 'r' / 'report.md').read_text()
    storage.write_bytes(data[:200])  # not even the topics are left: the error says where it ends
    code, _, err = _run(capsys, 'evaluate', bag, '--out', tmp_path / 'r2', '--no-progress')
    assert (
        code == 2
        and '[truncated] byte offset' in err
        and 'runs past the end of the 200-byte file' in err
    )
