"""`tsjnet-graph` runs the node graph in one process from the shared YAML."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
from conftest import REPO_ROOT
from ros_harness import wait_for


def _graph(out, *extra, timeout=180):
    return subprocess.run(
        [sys.executable, '-m', 'tsjnet_ros.tools.graph', '--output-dir', str(out), *extra],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_graph_runs_and_writes_summary_and_pngs(tmp_path):
    out = tmp_path / 'graph'
    proc = _graph(
        out, '--duration', '300', '--until-fused', '3'
    )  # ends at 3 fused frames, whatever the load
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '[tsjnet-graph] summary' in proc.stdout
    assert (
        'starting the fusion node (load the model, warm up): done in' in proc.stderr
    )  # the long wait shows
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['fused'] >= 3 and summary['recorded'] >= 3
    assert summary['sent']['ir'] >= summary['received']['ir'] > 0
    assert summary['invalid'] == {'ir': 0, 'visible': 0}
    assert summary['end_to_end_latency_ms']['p50'] > 0
    assert summary['saved'] and all(
        (out / 'fused' / p.split('/')[-1]).is_file() for p in summary['saved']
    )
    assert 'Traceback' not in proc.stderr and 'InvalidHandle' not in proc.stderr


def test_graph_saves_fused_images_apart_from_overlays_and_shuts_down_cleanly(tmp_path):
    """Fused PNGs are recorded from fused/image_color; overlays go to overlay/.

    The file name carries the topic; overlays (debug/overlay) hold boxes and segmentation.
    """
    for run in range(2):  # shutdown problems showed in some runs only
        out = tmp_path / f'graph{run}'
        proc = _graph(
            out,
            '--duration',
            '300',
            '--until-fused',
            '2',  # ends at 2 fused and recorded frames, whatever the load
            '--ros-args',
            '-p',
            'fusion_backend:=average',
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert 'Traceback' not in proc.stderr and 'InvalidHandle' not in proc.stderr, proc.stderr
        summary = json.loads((out / 'summary.json').read_text())
        assert summary['fused'] > 0 and 'nan' not in proc.stdout
        assert all('/fused/fused_image_color_' in p for p in summary['saved'])
        assert all('/overlay/debug_overlay_' in p for p in summary['saved_overlays'])
        image = cv2.imread(summary['saved'][0], cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (480, 640, 3)


def test_progress_line_rates_come_from_the_interval_and_no_nan_before_output():
    from tsjnet_ros.tools.graph import progress_line

    line = progress_line(2.0, 2.0, (40, 38, 0), (0, 0, 0), pairs=30, skipped=29, latency={})
    assert 'nan' not in line and 'no output yet' in line and 'fused   0.0 Hz' in line
    line = progress_line(
        4.0, 2.0, (80, 76, 3), (40, 38, 0), pairs=60, skipped=55, latency={'p50': 120.0}
    )
    assert 'ir  20.0 Hz' in line and 'visible  19.0 Hz' in line and 'fused   1.5 Hz' in line
    assert 'latency p50 120.0 ms' in line


def test_graph_rejects_missing_params_file(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-m', 'tsjnet_ros.tools.graph', '--params', str(tmp_path / 'none.yaml')],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and 'parameter file not found' in proc.stderr


def _graph_until_stopped(tmp_path, *args, env=None, slow_frame_s=None):
    from process_harness import Process, module, slow_fusion

    cwd = tmp_path / 'cwd'
    cwd.mkdir(exist_ok=True)
    ros = [
        '--ros-args',
        '-p',
        'fusion_backend:=average',
        '-p',
        'width:=160',
        '-p',
        'height:=120',
        '-p',
        'ir_rate:=10.0',
        '-p',
        'visible_rate:=10.0',
        '-p',
        'report_period:=1.0',
    ]
    argv = ['--duration', '0', '--quiet', *args, *ros]  # as launch's composed:=true starts it
    cmd = slow_fusion('graph', *argv) if slow_frame_s else module('tsjnet_ros.tools.graph', *argv)
    env = {**(env or {}), **({'SLOW_FRAME_S': str(slow_frame_s)} if slow_frame_s else {})}
    return Process(cmd, tmp_path / 'graph.log', cwd=cwd, env=env), cwd


def test_graph_until_stopped_stops_at_once_mid_frame_and_writes_no_files(tmp_path):
    """composed:=true: Ctrl-C while the model runs stops the one process with exit 0.

    Ctrl-C is sent twice, as a terminal and launch both send it; the process stops before
    launch's SIGTERM, and nothing lands in the cwd.
    """
    import signal

    from process_harness import LAUNCH_SIGTERM_AFTER_S, failures

    graph, cwd = _graph_until_stopped(tmp_path, '--output-dir=', '--no-recorder', slow_frame_s=60)
    try:
        assert graph.wait_for_output('FRAME STARTED'), graph.output()
        code, seconds = graph.stop(signal.SIGINT, repeat=2)
        log = graph.output()
        assert code == 0 and seconds < LAUNCH_SIGTERM_AFTER_S, (code, seconds, log)
        assert failures(log) == [], log
        assert '[tsjnet-graph] summary' in log and 'fused 0' in log
        assert list(cwd.iterdir()) == []
    finally:
        graph.close()


def test_graph_runs_overlay_and_recorder_only_when_asked(tmp_path):
    import signal

    from process_harness import failures

    record = tmp_path / 'record'
    graph, cwd = _graph_until_stopped(tmp_path, '--no-overlay', f'--output-dir={record}')
    try:
        saved_one = re.compile(
            r'\[fused_image_recorder\]: recorded \d+ images .* [1-9]\d* PNG saved'
        )
        assert wait_for(lambda: saved_one.search(graph.output()), 120), graph.output()
        code, _ = graph.stop(signal.SIGINT)
        log = graph.output()
        assert code == 0 and failures(log) == [], log
        nodes = next(line for line in log.splitlines() if '[tsjnet-graph] nodes:' in line)
        assert (
            'debug_overlay' not in nodes
            and 'overlay_recorder' not in nodes
            and 'fused_image_recorder' in nodes
        )
        assert (
            'recording /fused/image_color: saving 1 image in 30 to' in log
        )  # no overlay: the fused colour
        summary = json.loads((record / 'summary.json').read_text())
        assert (
            summary['recorded'] > 0
            and summary['saved']
            and all(Path(p).is_file() for p in summary['saved'])
        )
        assert list(cwd.iterdir()) == []
    finally:
        graph.close()
    graph, _ = _graph_until_stopped(tmp_path, '--output-dir=', '--no-recorder', '--no-overlay')
    try:
        assert graph.wait_for_output('[tsjnet-graph] nodes:', timeout=120), graph.output()
        code, _ = graph.stop(signal.SIGTERM)
        nodes = next(
            line for line in graph.output().splitlines() if '[tsjnet-graph] nodes:' in line
        )
        assert code == 0 and nodes.endswith('/synthetic_cameras, /fusion_node on one executor'), (
            graph.output()
        )
    finally:
        graph.close()
