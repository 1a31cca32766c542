"""One bag through the live node and through the offline evaluation.

The same fusion stream forms the same pairs and fuses them to the same bytes.
"""

from __future__ import annotations

import numpy as np
from bag_making import make_bag
from ros_harness import (
    Collector,
    image_msg,
    play_paced,
    start_fusion_node,
    wait_for,
    wait_for_matched,
)
from sensor_msgs.msg import Image

from tsjnet_msgs.msg import FusedFrame
from tsjnet_ros.core.bag.evaluation import EvaluationOptions, evaluate_bag
from tsjnet_ros.core.bag.messages import image_array, stamp_ns
from tsjnet_ros.core.bag.reader import BagReader
from tsjnet_ros.core.fusion import create_backend
from tsjnet_ros.core.image.image_encoding import image_to_array
from tsjnet_ros.core.runtime.stream_settings import StreamSettings
from tsjnet_ros.nodes.messages import stamp_to_ns

BACKEND = 'laplacian_pyramid'  # deterministic and fast; the stream, not the model, is under test


def _camera_frames(bag):
    """List (stream, sensor_msgs/Image) of every camera message in log-time (playback) order."""
    with BagReader(bag) as reader:
        return [
            (0 if m.topic == '/ir/image' else 1, _image(reader.deserialize(m)))
            for m in reader.messages(['/ir/image', '/visible/image'])
        ]


def _image(decoded) -> Image:
    return image_msg(
        image_array(decoded), decoded.encoding, stamp_ns(decoded.header), decoded.header.frame_id
    )


def test_node_and_offline_evaluation_give_the_same_pairs_and_fused_bytes(tmp_path, graph):
    bag = tmp_path / 'bag'
    # IR slower than visible, with stamp jitter and a clock offset: some images stay unpaired
    make_bag(
        bag, duration=1.0, width=96, height=64, ir_rate=24, no_ground_truth=True, no_progress=True
    )

    offline = evaluate_bag(
        bag,
        create_backend(BACKEND),
        StreamSettings(fusion_backend=BACKEND),
        tmp_path / 'out',
        options=EvaluationOptions(metrics=(), contact_sheet_rows=0),
    )
    assert offline.status == 'complete' and offline.processed_pairs == offline.account.pairs
    with BagReader(tmp_path / 'out') as reader:
        offline_fused = {
            stamp_ns(d.header): image_array(d).copy()
            for d in map(reader.deserialize, reader.messages(['/fused/image']))
        }
    offline_pairs = [(r.ir_stamp_ns, r.stamp_ns) for r in offline.records]
    assert len(offline_pairs) >= 20 and sum(offline.account.unpaired.values()) > 0

    fusion, _, probe, pubs = start_fusion_node(
        graph, fusion_backend=BACKEND, input_qos='RELIABLE:100'
    )
    frames = Collector(probe, FusedFrame, 'fused/frame', qos=100)
    wait_for_matched(probe)
    play_paced(fusion, pubs, _camera_frames(bag))
    stats = fusion.stats()
    assert wait_for(lambda: len(frames.messages) >= stats.fused)
    live_pairs = [(stamp_to_ns(f.ir_stamp), stamp_to_ns(f.header.stamp)) for f in frames.messages]

    # Live, the last pair waits for a later image; offline, the end of the bag completes it.
    assert stats.skipped == 0 and stats.errors == 0
    assert live_pairs == offline_pairs[: len(offline_pairs) - offline.account.flushed_pairs]
    for ir_stamp, visible_stamp in live_pairs:
        frame = next(f for f in frames.messages if stamp_to_ns(f.header.stamp) == visible_stamp)
        np.testing.assert_array_equal(
            image_to_array(frame.fused),
            offline_fused[visible_stamp],
            err_msg=f'pair at {visible_stamp}',
        )
