"""The shipped Fast DDS profile for camera-sized images between processes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tsjnet_ros.nodes.dds_profile import (
    LEGACY_PROFILE_VARIABLE,
    PROFILE_VARIABLE,
    large_image_profile,
    profile_environment,
    use_large_image_profile,
)

NS = {'f': 'http://www.eprosima.com'}
FULL_HD_BGR8 = 1920 * 1080 * 3


def test_profile_is_set_only_where_nothing_else_is_chosen():
    profile = large_image_profile()
    env: dict[str, str] = {}
    assert use_large_image_profile(env) == profile
    assert env == {PROFILE_VARIABLE: str(profile)}
    mine = {PROFILE_VARIABLE: '/etc/my_profile.xml'}
    assert use_large_image_profile(mine) is None and mine == {
        PROFILE_VARIABLE: '/etc/my_profile.xml'
    }
    legacy = {LEGACY_PROFILE_VARIABLE: '/etc/old.xml'}
    assert use_large_image_profile(legacy) is None and PROFILE_VARIABLE not in legacy
    other_rmw = {'RMW_IMPLEMENTATION': 'rmw_cyclonedds_cpp'}
    assert use_large_image_profile(other_rmw) is None and PROFILE_VARIABLE not in other_rmw
    assert profile_environment(profile, {'RMW_IMPLEMENTATION': 'rmw_fastrtps_dynamic_cpp'}) == {
        PROFILE_VARIABLE: str(profile)
    }
    assert (
        profile_environment('', {}) == {}
    )  # what the launch file passes for fastdds_profile:=none


def test_profile_keeps_shared_memory_with_room_for_full_hd_colour_frames():
    root = ET.parse(large_image_profile()).getroot()
    descriptors = {
        d.findtext('f:transport_id', namespaces=NS): d
        for d in root.iterfind('.//f:transport_descriptor', NS)
    }
    shm = [d for d in descriptors.values() if d.findtext('f:type', namespaces=NS) == 'SHM']
    assert (
        len(shm) == 1 and int(shm[0].findtext('f:segment_size', namespaces=NS)) >= 2 * FULL_HD_BGR8
    )
    participant = root.find('.//f:participant', NS)
    assert participant.get('is_default_profile') == 'true'
    used = [t.text for t in participant.iterfind('.//f:userTransports/f:transport_id', NS)]
    assert set(used) == set(descriptors)  # SHM plus UDPv4 for other machines
    assert {descriptors[t].findtext('f:type', namespaces=NS) for t in used} == {'SHM', 'UDPv4'}
    assert participant.findtext('.//f:useBuiltinTransports', namespaces=NS) == 'false'


def _ros_env(**extra: str) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in (PROFILE_VARIABLE, LEGACY_PROFILE_VARIABLE)
    }
    env.update(
        ROS_DOMAIN_ID=str(100 + os.getpid() % 100),
        ROS_AUTOMATIC_DISCOVERY_RANGE='LOCALHOST',
        **extra,
    )
    return env


SEGMENT_SIZE = textwrap.dedent("""
    import os, time, rclpy
    from rclpy.node import Node
    before = set(os.listdir("/dev/shm"))
    rclpy.init()
    node = Node("segment_probe")
    time.sleep(0.5)
    new = [f for f in set(os.listdir("/dev/shm")) - before
           if f.startswith("fastdds_") and not f.startswith("fastdds_port")
           and not f.endswith("_el")]
    print(max(os.path.getsize("/dev/shm/" + f) for f in new))
""")


@pytest.mark.skipif(not Path('/dev/shm').is_dir(), reason='needs Linux shared memory (/dev/shm)')
def test_fast_dds_loads_the_profile_and_sizes_its_segment_from_it():
    with_profile = subprocess.run(
        [sys.executable, '-c', SEGMENT_SIZE],
        capture_output=True,
        text=True,
        timeout=60,
        env=_ros_env(**{PROFILE_VARIABLE: str(large_image_profile())}),
    )
    assert with_profile.returncode == 0, with_profile.stderr
    assert 'XMLPARSER' not in with_profile.stderr and 'Error' not in with_profile.stderr
    assert int(with_profile.stdout.split()[-1]) >= 2 * FULL_HD_BGR8
    default = subprocess.run(
        [sys.executable, '-c', SEGMENT_SIZE],
        capture_output=True,
        text=True,
        timeout=60,
        env=_ros_env(),
    )
    assert default.returncode == 0, default.stderr
    assert (
        int(default.stdout.split()[-1]) < 640 * 480 * 3
    )  # the default cannot hold one 640x480 bgr8 image


RECEIVER = textwrap.dedent("""
    import hashlib, time, rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    rclpy.init()
    node = Node("profile_receiver")
    got = []
    node.create_subscription(Image, "profile_test/image", got.append, 10)
    end = time.monotonic() + 30
    while not got and time.monotonic() < end:
        rclpy.spin_once(node, timeout_sec=0.1)
    msg = got[0]
    print(msg.width, msg.height, msg.encoding, hashlib.sha256(bytes(msg.data)).hexdigest())
""")

SENDER = textwrap.dedent("""
    import hashlib, time, numpy as np, rclpy
    from rclpy.node import Node
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header
    from tsjnet_ros.nodes.messages import image_message
    rclpy.init()
    node = Node("profile_sender")
    pub = node.create_publisher(Image, "profile_test/image", 10)
    array = np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    end = time.monotonic() + 20
    while pub.get_subscription_count() == 0 and time.monotonic() < end:
        time.sleep(0.05)
    time.sleep(0.5)
    for _ in range(20):
        pub.publish(image_message(array, "bgr8", Header(frame_id="camera")))
        time.sleep(0.1)
    print(hashlib.sha256(array.tobytes()).hexdigest())
""")


def test_a_640x480_colour_image_crosses_processes_intact_with_the_profile():
    env = _ros_env(**{PROFILE_VARIABLE: str(large_image_profile())})
    receiver = subprocess.Popen(
        [sys.executable, '-c', RECEIVER],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        sender = subprocess.run(
            [sys.executable, '-c', SENDER], capture_output=True, text=True, timeout=60, env=env
        )
        out, err = receiver.communicate(timeout=60)
    finally:
        if receiver.poll() is None:
            receiver.kill()
    assert sender.returncode == 0, sender.stderr
    assert receiver.returncode == 0, err
    width, height, encoding, digest = out.split()
    assert (width, height, encoding) == ('640', '480', 'bgr8')
    assert digest == sender.stdout.split()[-1]
