"""Replay figures (ros2_benchmark style), the peak-rate search, and a live replay."""

import json

import pytest
from bag_making import make_bag

from tsjnet_ros.core.bag.replay_stats import TrialMeasurement, search_peak_rate, summarize_trial


def test_trial_summary_counts_drops_rate_latency_and_jitter():
    arrivals = [10.0 + 0.1 * k for k in range(9)] + [
        10.0 + 0.95
    ]  # 10 outputs, the last one 50 ms late
    m = TrialMeasurement(
        2.0,
        {'ir': 12, 'visible': 12},
        expected_outputs=12,
        bag_pair_rate_hz=5.0,
        arrivals=arrivals,
        latencies_ms=[float(v) for v in range(10, 110, 10)],
    )
    s = summarize_trial(m)
    assert s['frames_received'] == 10 and s['missed_frames'] == 2
    assert s['drop_fraction'] == pytest.approx(2 / 12)
    assert s['input_pair_rate_hz'] == pytest.approx(10.0)
    assert s['mean_output_fps'] == pytest.approx(9 / 0.95)
    assert s['latency_ms']['max'] == 100.0 and s['latency_ms']['p50'] == pytest.approx(55.0)
    assert s['inter_arrival_ms']['max'] == pytest.approx(150.0)
    assert s['jitter_ms']['std'] > 0 and s['jitter_ms']['max_abs_deviation'] == pytest.approx(
        150.0 - 950 / 9
    )
    empty = summarize_trial(TrialMeasurement(1.0, {'ir': 0, 'visible': 0}, 0, 0.0))
    assert (
        empty['frames_received'] == 0
        and empty['latency_ms'] == {}
        and empty['drop_fraction'] == 0.0
    )


def _fake_trials(limit):
    """Fake a pipeline that keeps up to ``limit`` x real time and drops a growing share above."""
    calls = []

    def run(factor):
        calls.append(factor)
        drop = 0.0 if factor <= limit else min(0.9, (factor - limit) / factor)
        return {
            'rate_factor': factor,
            'input_pair_rate_hz': 30.0 * factor,
            'drop_fraction': drop,
            'mean_output_fps': 30.0 * factor * (1 - drop),
        }

    return run, calls


def test_peak_search_brackets_then_bisects():
    run, calls = _fake_trials(limit=3.0)
    result = search_peak_rate(run, max_drop=0.05, start=1.0, highest=16.0, bisections=4)
    assert calls[:3] == [1.0, 2.0, 4.0]
    assert 2.8 < result['peak_rate_factor'] <= 3.0 / 0.95 and result[
        'peak_input_pair_rate_hz'
    ] == pytest.approx(30.0 * result['peak_rate_factor'])
    assert all(t['passed'] == (t['drop_fraction'] < 0.05) for t in result['trials'])
    assert not result['limited_by_search_range']


def test_peak_search_goes_down_and_reports_its_limits():
    run, calls = _fake_trials(limit=0.3)
    result = search_peak_rate(run, start=1.0, lowest=0.125, bisections=0)
    assert calls == [1.0, 0.5, 0.25] and result['peak_rate_factor'] == 0.25
    run, _ = _fake_trials(limit=100.0)
    result = search_peak_rate(run, start=1.0, highest=4.0)
    assert result['peak_rate_factor'] == 4.0 and result['limited_by_search_range']
    run, _ = _fake_trials(limit=0.01)
    assert search_peak_rate(run, lowest=0.5)['peak_rate_factor'] is None
    with pytest.raises(ValueError, match='max_drop'):
        search_peak_rate(run, max_drop=1.5)


def test_live_replay_through_the_fusion_node(tmp_path, capsys):
    pytest.importorskip('rclpy')
    pytest.importorskip('tsjnet_ros.nodes.fusion_node', reason='needs the interface packages')
    from tsjnet_ros.tools.bag import main

    bag, out = tmp_path / 'bag', tmp_path / 'replay.json'
    make_bag(bag, duration=0.5, width=64, height=48, no_progress=True)
    code = main(
        [
            'replay',
            str(bag),
            '--rate',
            '1',
            '--search',
            '--search-max',
            '2',
            '--bisections',
            '0',
            '--drain-timeout',
            '5',
            '--out',
            str(out),
            '--quiet',
        ]
    )
    assert code == 0
    document = json.loads(out.read_text())
    trial = document['trial']
    assert trial['frames_sent'] == {'ir': 15, 'visible': 15}
    assert trial['expected_outputs'] == 14  # the live node cannot complete the last pair
    assert 0 < trial['frames_received'] <= 14 and trial['unmatched_outputs'] == 0
    assert trial['missed_frames'] == 14 - trial['frames_received']
    assert 0 < trial['latency_ms']['p50'] <= trial['latency_ms']['max'] < 5000
    node = trial['node']
    assert 0 < node['received']['visible'] <= 15 and node['fused'] >= trial['frames_received']
    start = 1_700_000_000 * 10**9
    assert (
        start <= node['clock_at_end_ns'] <= start + 2 * 10**9
    )  # use_sim_time: the node ran on the bag's /clock
    search = document['search']
    trials = search['trials']
    assert trials[0]['rate_factor'] == 1.0
    # the search doubles the rate after a trial within the drop limit and halves it otherwise
    # (which one happens depends on how busy the machine is)
    assert trials[1]['rate_factor'] == (2.0 if trials[0]['passed'] else 0.5)
    assert 'peak rate with < 5 % drops' in capsys.readouterr().out
