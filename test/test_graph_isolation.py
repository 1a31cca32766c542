"""Commands that start their own ROS graph neither hear nor count another process's topics."""

from __future__ import annotations

import os
import random
import threading

import numpy as np
import pytest
from bag_making import make_bag

from tsjnet_ros.nodes.graph_isolation import GraphIsolation, environment_domain, isolated_graph


def test_isolated_domain_is_never_the_environments():
    for taken in ('0', '7', '101'):
        rng = random.Random(3)
        domains = {
            isolated_graph(environ={'ROS_DOMAIN_ID': taken}, rng=rng).domain_id for _ in range(500)
        }
        assert int(taken) not in domains and domains <= set(range(1, 102)) and len(domains) > 50
    assert environment_domain({}) == 0 and environment_domain({'ROS_DOMAIN_ID': 'x'}) == 0
    assert isolated_graph(42).domain_id == 42
    with pytest.raises(ValueError, match='0..232'):
        isolated_graph(300)
    assert GraphIsolation(5).watch_environment() == {
        'ROS_DOMAIN_ID': '5',
        'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST',
    }


class _ForeignCameras:
    """Another process's node in the environment's graph.

    It publishes 8UC3 images (frame 'cam') on the replay's camera topics and fused images with
    stamps the replay never sent.
    """

    def __init__(self) -> None:
        import rclpy
        from rclpy.context import Context
        from sensor_msgs.msg import Image

        self.context = Context()
        rclpy.init(context=self.context, domain_id=environment_domain())
        self.node = rclpy.create_node('foreign_cameras', context=self.context)
        self.publishers = [
            self.node.create_publisher(Image, topic, 10)
            for topic in ('/ir/image', '/visible/image', '/fused/image')
        ]
        image = Image(
            height=48,
            width=64,
            encoding='8UC3',
            step=64 * 3,
            data=np.zeros(48 * 64 * 3, np.uint8).tobytes(),
        )
        image.header.frame_id = 'cam'
        self.image = image
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.01):
            self.image.header.stamp.sec = 5 + self.sent
            for publisher in self.publishers:
                publisher.publish(self.image)
            self.sent += 1

    def __enter__(self) -> _ForeignCameras:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        import rclpy

        self._stop.set()
        self._thread.join()
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)


@pytest.fixture
def small_bag(tmp_path):
    pytest.importorskip('rclpy')
    pytest.importorskip('tsjnet_ros.nodes.fusion_node', reason='needs the interface packages')

    bag = tmp_path / 'bag'
    # 2 s of replay: long enough for DDS discovery between the two graphs on a loaded machine,
    # so the foreign node's images reach the replay in the shared-graph test.
    make_bag(bag, duration=2.0, width=64, height=48, no_progress=True)
    return bag


def _trial(bag, isolation):
    from tsjnet_ros.core.bag.topics import InputTopics
    from tsjnet_ros.resources import config_file
    from tsjnet_ros.tools import bag as bag_tool

    args = bag_tool.build_parser().parse_args(['replay', str(bag), '--backend', 'average'])
    settings, params = bag_tool.pipeline_settings(args)
    data = bag_tool._load_replay_input(bag, InputTopics(), settings)
    setup = bag_tool._TrialSetup(
        config_file('fusion.yaml'), settings, 5.0, 'error', False, isolation
    )
    return data, bag_tool._run_trial(data, setup, 1.0)


def test_replay_in_its_own_graph_hears_only_its_player(small_bag):
    with _ForeignCameras() as foreign:
        data, m = _trial(small_bag, isolated_graph())
    assert foreign.sent > 20  # the foreign node was publishing during the whole trial
    node = m.node
    # nothing foreign arrived (best-effort input may still drop some of the player's own)
    assert all(0 < node['received'][k] <= m.sent[k] for k in ('ir', 'visible')), (node, m.sent)
    assert node['invalid'] == {'ir': 0, 'visible': 0} and m.unmatched_outputs == 0
    assert 0 < len(m.arrivals) <= data.expected_outputs


def test_replay_counts_only_outputs_of_pairs_it_sent(small_bag):
    """Even in a shared graph, a foreign /fused/image never counts as a received frame."""
    with _ForeignCameras():
        data, m = _trial(small_bag, None)
    assert m.unmatched_outputs > 0  # the foreign fused images arrived, and were set apart
    assert len(m.arrivals) <= data.expected_outputs and len(m.latencies_ms) == len(m.arrivals)
    assert (
        os.environ.get('ROS_AUTOMATIC_DISCOVERY_RANGE') == 'LOCALHOST'
    )  # conftest's value is back in place
