"""The bag tools take what real recordings hold and prepare it as the node does.

Compressed camera topics are replayed through the node graph, and the node's ir_range,
visible_range and registration parameters applied by ``tsjnet-bag evaluate`` with the node's
own result.
"""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import yaml
from bag_making import make_bag
from ros_harness import (
    Collector,
    RosGraph,
    image_msg,
    send_pairs,
    start_fusion_node,
    wait_for,
    wait_for_matched,
)
from sensor_msgs.msg import Image

from tsjnet_ros.core.bag.messages import image_array
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.bag.typestore import IMAGE
from tsjnet_ros.core.bag.writer import BagWriter
from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.core.preparation.registration import Registration
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.tools.bag import main

MS = 1_000_000
T0 = 1_700_000_000 * 1_000_000_000
STAMPS = [T0 + k * 100 * MS for k in range(3)]


def write_params(path, **parameters):
    path.write_text(
        yaml.safe_dump(
            {'fusion_node': {'ros__parameters': {'fusion_backend': 'max', **parameters}}}
        )
    )
    return path


def test_settings_read_ranges_and_registration_like_the_node(tmp_path):
    registration = tmp_path / 'registration.yaml'
    Registration(np.eye(3), (80, 80), (160, 90)).save(registration)
    params = write_params(
        tmp_path / 'p.yaml',
        ir_range=[15, 40],
        visible_range=[0.0, 4095.0],
        registration=str(registration),
    )
    settings = StreamSettings.from_parameter_file(params)
    assert (settings.ir_range, settings.visible_range, settings.registration) == (
        (15.0, 40.0),
        (0.0, 4095.0),
        str(registration),
    )
    assert settings.pair_preparation().registration is not None
    assert StreamSettings().pair_preparation().registration is None  # node default: resize only
    for bad, name in (
        (dict(ir_range=[40.0, 15.0]), 'ir_range'),
        (dict(visible_range=[1.0]), 'visible_range'),
        (dict(registration=str(tmp_path / 'missing.yaml')), 'registration'),
    ):
        with pytest.raises(ValueError, match=name):
            StreamSettings.from_parameter_file(write_params(tmp_path / 'bad.yaml', **bad))


def person_scene(background, person, shape=(60, 80)):
    scene = np.full(shape, background, np.float32)
    scene[10:50, 35:45] = person
    return scene


def _square(shape=(80, 80)):
    ir = np.zeros(shape, np.uint8)
    ir[20:60, 20:60] = 255
    return ir


def _twelve_bit_visible(shape=(60, 80)):
    visible = np.full(shape, 300, np.uint16)
    visible[:, 40:] = 1200  # a 12-bit camera: values far below the 16-bit top
    return visible


# (IR frame, IR encoding, visible frame, visible encoding, node parameters (tmp_path -> dict))
CASES = {
    'float-celsius-ir_range': (
        person_scene(20.0, 36.5),
        '32FC1',
        np.zeros((60, 80), np.uint8),
        'mono8',
        lambda tmp: {'ir_range': [15.0, 40.0]},
    ),
    'mono16-visible_range': (
        np.full((60, 80), 128, np.uint8),
        'mono8',
        _twelve_bit_visible(),
        'mono16',
        lambda tmp: {'visible_range': [0.0, 4095.0]},
    ),
    'registration': (
        _square(),
        'mono8',
        np.zeros((90, 160), np.uint8),
        'mono8',
        lambda tmp: {'registration': _registration_file(tmp)},
    ),
}


def _registration_file(tmp_path):
    path = tmp_path / 'registration.yaml'
    Registration(np.array([[0.9, 0, 40.0], [0, 0.95, 5.0], [0, 0, 1]]), (80, 80), (160, 90)).save(
        path
    )
    return str(path)


def _evaluated_fused(tmp_path, name, bag, parameters):
    """Return /fused/image of every pair.

    As ``tsjnet-bag evaluate`` writes it with this parameter file.
    """
    params = write_params(tmp_path / f'{name}.yaml', **parameters)
    out = tmp_path / name
    code = main(
        [
            'evaluate',
            str(bag),
            '--params',
            str(params),
            '--out',
            str(out),
            '--metrics',
            'none',
            '--baselines',
            'none',
            '--contact-sheet',
            '0',
            '--no-progress',
        ]
    )
    assert code == 0
    with BagReader(out / 'fused_bag') as reader:
        return [image_array(reader.deserialize(m)) for m in reader.messages(['/fused/image'])]


@pytest.mark.parametrize('case', list(CASES))
def test_evaluation_applies_the_node_input_parameters_as_the_node_does(tmp_path, case):
    ir, ir_encoding, visible, vis_encoding, parameters = CASES[case]
    parameters = parameters(tmp_path)
    bag = tmp_path / 'bag'
    with BagWriter(bag) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        for stamp in STAMPS:
            writer.write_image('/visible/image', stamp, visible, vis_encoding, stamp, 'cam')
            writer.write_image('/ir/image', stamp + MS, ir, ir_encoding, stamp, 'cam')
    evaluated = _evaluated_fused(tmp_path, 'with', bag, parameters)
    without = _evaluated_fused(tmp_path, 'without', bag, {})
    assert len(evaluated) == len(STAMPS)

    graph = RosGraph()
    try:
        _, _, probe, pubs = start_fusion_node(graph, **parameters)
        fused = Collector(probe, Image, 'fused/image')
        wait_for_matched(probe)
        send_pairs(
            pubs,
            [image_msg(ir, ir_encoding, s, 'cam') for s in STAMPS],
            [image_msg(visible, vis_encoding, s, 'cam') for s in STAMPS],
        )
        assert wait_for(lambda: len(fused.messages) >= 2)
        live = [image_to_array(m) for m in fused.messages[:2]]
    finally:
        graph.close()
    for k, frame in enumerate(live):
        np.testing.assert_array_equal(evaluated[k], frame, err_msg=f'pair {k}')  # the node's bytes
    assert not np.array_equal(without[0], live[0])  # the parameter changes the result


def test_replay_plays_compressed_camera_topics_through_the_node(tmp_path):
    """A bag holding only image_transport compressed topics is fused pair by pair.

    With 16-bit PNG thermal and JPEG colour, every pair reaches the node's compressed inputs and
    is fused; evaluate reads the same bag.
    """
    bag, out = tmp_path / 'bag', tmp_path / 'replay.json'
    make_bag(
        bag,
        duration=0.3,
        width=64,
        height=48,
        transport='compressed',
        ir_encoding='mono16',
        no_ground_truth=True,
        no_progress=True,
    )
    with BagReader(bag) as reader:
        assert sorted(reader.topics) == ['/ir/image/compressed', '/visible/image/compressed']
    params = write_params(tmp_path / 'p.yaml', ir_range=[0.0, 65535.0])
    code = main(
        [
            'replay',
            str(bag),
            '--params',
            str(params),
            '--pacing',
            'paced',
            '--drain-timeout',
            '5',
            '--out',
            str(out),
            '--quiet',
        ]
    )
    assert code == 0
    document = json.loads(out.read_text())
    assert document['input_transports'] == {'ir': 'compressed', 'visible': 'compressed'}
    assert document['settings']['ir_range'] == [0.0, 65535.0]
    trial = document['trial']
    assert trial['frames_sent'] == {'ir': 9, 'visible': 9} and trial['expected_outputs'] == 8
    assert trial['frames_received'] == 8 and trial['node']['invalid'] == {'ir': 0, 'visible': 0}
    report = tmp_path / 'report'
    assert (
        main(
            [
                'evaluate',
                str(bag),
                '--params',
                str(params),
                '--out',
                str(report),
                '--metrics',
                'none',
                '--baselines',
                'none',
                '--no-out-bag',
                '--no-progress',
            ]
        )
        == 0
    )
    assert json.loads((report / 'report.json').read_text())['summary']['pairs']['processed'] == 9


def test_evaluation_scores_float_thermal_frames(tmp_path):
    """32FC1 degrees Celsius go through metrics and the contact sheet, not only the fusion."""
    bag = tmp_path / 'bag'
    with BagWriter(bag) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        for stamp in STAMPS:
            visible = np.zeros((60, 80), np.uint8)
            writer.write_image('/visible/image', stamp, visible, 'mono8', stamp, 'cam')
            ir = person_scene(20.0, 36.5)
            writer.write_image('/ir/image', stamp + MS, ir, '32FC1', stamp, 'cam')
    out = tmp_path / 'out'
    code = main(['evaluate', str(bag), '--out', str(out), '--baselines', 'none', '--no-progress'])
    assert code == 0
    with open(out / 'metrics.csv', newline='') as f:
        rows = [r for r in csv.DictReader(f) if r['image'] != 'mean']
    assert len(rows) == len(STAMPS) and all(0.0 < float(r['SSIM']) <= 1.0 for r in rows)
    assert (out / 'contact_sheet.png').is_file()


def test_replay_counts_the_outputs_of_an_unstamped_bag(tmp_path):
    """header.stamp 0 everywhere: node stamps on arrival, replay still knows its outputs."""
    bag, out = tmp_path / 'bag', tmp_path / 'replay.json'
    with BagWriter(bag) as writer:
        writer.add_topic('/ir/image', IMAGE)
        writer.add_topic('/visible/image', IMAGE)
        for stamp in STAMPS:
            visible = np.full((60, 80), 100, np.uint8)
            writer.write_image('/visible/image', stamp, visible, 'mono8', 0, 'cam')
            ir = np.full((60, 80), 150, np.uint8)
            writer.write_image('/ir/image', stamp + MS, ir, 'mono8', 0, 'cam')
    params = write_params(tmp_path / 'p.yaml', fusion_backend='average')
    args = ['replay', str(bag), '--params', str(params), '--pacing', 'paced']
    code = main([*args, '--drain-timeout', '5', '--out', str(out), '--quiet'])
    assert code == 0
    trial = json.loads(out.read_text())['trial']
    assert trial['expected_outputs'] == len(STAMPS) - 1  # the last pair has no later frame
    assert (
        trial['frames_received'] == trial['expected_outputs'] and trial['unmatched_outputs'] == 0
    )
