"""The vision_msgs stand-in must hash exactly like upstream vision_msgs 4.x.

ROS 2 (Iron and later) compares RIHS01 type hashes when matching publishers and
subscribers and when replaying bags, so a single differing field name, type,
order or default would cut us off from real vision_msgs users (rviz2, bag
tools, other detectors). The expected values below were taken from upstream
builds, not computed here.

Sources of the upstream values (public generated files of ros-perception/vision_msgs 4.x builds):
  [A] GitHub borednuna/ipm-ws, commit 1d768272c24114f1004e19d0ef8118b73b9a2b68, a colcon
      workspace that built ros-perception/vision_msgs from source (all 16 messages):
      build/vision_msgs/rosidl_generator_type_description/vision_msgs/msg/*.json,
      install/vision_msgs/share/vision_msgs/msg/*.json ("type_hashes") and
      build/vision_msgs/rosidl_generator_c/vision_msgs/msg/detail/*__description.c and
      install/vision_msgs/include/vision_msgs/vision_msgs/msg/detail/*__description.c
      (the get_type_hash() byte arrays and *_EXPECTED_HASH tables).
  [B] GitHub dkrygsman/pi_ws, commit b644ed64e0430cf60f6f1848c8bb7638a50f2b1c,
      build/depthai_ros_msgs/rosidl_generator_c/depthai_ros_msgs/msg/detail/
      spatial_detection__description.c: *_EXPECTED_HASH of the vision_msgs it was
      built against (independent confirmation of four values).
"""

import json
import uuid
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
STANDIN_MSG_DIR = REPO_ROOT / 'interfaces' / 'vision_msgs' / 'msg'

UPSTREAM_RIHS01 = {
    # [A] BoundingBox2DArray.json, Detection2D*.json; [B] BoundingBox2D EXPECTED_HASH
    'BoundingBox2D': 'RIHS01_008eacbb0cf8f26e83795547bed013eec3675485ef386ec056d80eaaf1c1ce2f',
    # [A] build/.../BoundingBox2DArray.json
    'BoundingBox2DArray': (
        'RIHS01_2464e82838009386d371b523211c21c91d74d313fcdd6788223c531d621cf691'
    ),
    # [A] build/.../Detection3D.json, install/.../Detection3DArray.json
    'BoundingBox3D': 'RIHS01_bbb73a65c163d7f9bb29009c7bde9f7faa576bd2d23299c4511d19230dab4698',
    # [A] install/.../bounding_box3_d_array__description.c
    'BoundingBox3DArray': (
        'RIHS01_a81938db9576b10c2eecd7c5a5da3eac496efd00221b25ed051dfbc81fb56da6'
    ),
    # [A] build/.../Classification.json
    'Classification': 'RIHS01_f74db28d0eaef3afb78f48bf2161cd709a1383a0309d3454383b25be11345143',
    # [A] detection2_d__description.c and install/.../Detection2DArray.json
    'Detection2D': 'RIHS01_0d12b69df5c593b3455b7346fac8205437a7d4bcb09b9e0e0b2dde787ded38ea',
    # [A] build/.../detection2_d_array__description.c
    'Detection2DArray': 'RIHS01_214274120007f4a683866481336b70310268cfa107aebe9d594a6acf75bda968',
    # [A] build/.../Detection3D.json
    'Detection3D': 'RIHS01_ddd703be132ab0b69d33121f1bb034132bfbb3b0ac5f9fb1516005ba1c8a265b',
    # [A] install/.../Detection3DArray.json
    'Detection3DArray': 'RIHS01_793f5eab9595ac1c0da07873cc859db42eae51f0ee76056db8562515d830e018',
    # [A] build/.../LabelInfo.json
    'LabelInfo': 'RIHS01_3d37df4015cdf660cc851c51897f2acd957e1ca6205ba0a99aebffb9406b0783',
    # [A] build/.../ObjectHypothesis.json; [B] ObjectHypothesis EXPECTED_HASH
    'ObjectHypothesis': 'RIHS01_51da43cec11c01957a64d1e05a24acd18aae7745ec30b74348ad5f6d634f7f90',
    # [A] build/.../Detection3D.json, detection2_d__description.c
    'ObjectHypothesisWithPose': (
        'RIHS01_41c12344c0396c48b81df12467c192d99b2a0eb1463c5c37194e4223251c80bc'
    ),
    # [A] build/.../Point2D.json; [B] Point2D EXPECTED_HASH
    'Point2D': 'RIHS01_eab0e83f44ab4de92ceaf76dd7d0e7638f2bdd1d16ffbe16c7a136c48e407247',
    # [A] build/.../BoundingBox2DArray.json; [B] Pose2D EXPECTED_HASH
    'Pose2D': 'RIHS01_b0b5d1d7b4c20dd4fcde3ed1d4b289a919290572007d67a97043814db25d3648',
    # [A] build/.../LabelInfo.json
    'VisionClass': 'RIHS01_1e4a11f0fed50b5623cb8ff26ca0e37952a48a9c074d16f804b44e9164c2037a',
    # [A] build/.../vision_info__description.c
    'VisionInfo': 'RIHS01_95d3116a17484ad91c9a2686e1d54890bbfc3ff6c6a2de137738c4950d45d284',
}


def _installed_vision_msgs_share() -> Path:
    """share/vision_msgs/msg of the vision_msgs that this Python actually imports."""
    try:
        import vision_msgs
    except ImportError:
        pytest.skip('vision_msgs is not importable; run scripts/build_interfaces.sh first')
    # <prefix>/lib/pythonX.Y/site-packages/vision_msgs/__init__.py
    prefix = Path(vision_msgs.__file__).resolve().parents[4]
    share = prefix / 'share' / 'vision_msgs' / 'msg'
    if not share.is_dir():
        pytest.skip(f'no generated type descriptions at {share}')
    return share


def _own_hash(json_path: Path) -> str:
    data = json.loads(json_path.read_text())
    type_name = data['type_description_msg']['type_description']['type_name']
    for entry in data['type_hashes']:
        if entry['type_name'] == type_name:
            return entry['hash_string']
    raise AssertionError(f'{json_path} has no hash for its own type {type_name}')


def test_standin_defines_exactly_the_upstream_message_set():
    defined = sorted(p.stem for p in STANDIN_MSG_DIR.glob('*.msg'))
    assert defined == sorted(UPSTREAM_RIHS01)


def test_standin_is_hidden_from_colcon():
    assert (STANDIN_MSG_DIR.parent / 'COLCON_IGNORE').is_file()


@pytest.mark.parametrize('name', sorted(UPSTREAM_RIHS01))
def test_generated_type_hash_equals_upstream(name):
    json_path = _installed_vision_msgs_share() / f'{name}.json'
    assert json_path.is_file(), f'missing generated description {json_path}'
    assert _own_hash(json_path) == UPSTREAM_RIHS01[name]


def test_nested_vision_msgs_hashes_agree_with_upstream():
    """Every vision_msgs type referenced inside another one carries the same hash."""
    share = _installed_vision_msgs_share()
    checked = 0
    for json_path in sorted(share.glob('*.json')):
        for entry in json.loads(json_path.read_text())['type_hashes']:
            package, _, short = entry['type_name'].split('/')
            if package == 'vision_msgs':
                assert entry['hash_string'] == UPSTREAM_RIHS01[short], (json_path.name, short)
                checked += 1
    assert checked > len(UPSTREAM_RIHS01)


def test_publisher_advertises_upstream_hash_at_runtime():
    """The hash the middleware announces for a live publisher is the upstream one."""
    rclpy = pytest.importorskip('rclpy')
    try:
        from vision_msgs.msg import Detection2DArray
    except ImportError:
        pytest.skip('vision_msgs is not importable; run scripts/build_interfaces.sh first')
    from rclpy.context import Context

    context = Context()
    rclpy.init(context=context)
    try:
        node = rclpy.create_node(f'type_hash_probe_{uuid.uuid4().hex[:8]}', context=context)
        topic = f'/type_hash_probe_{uuid.uuid4().hex[:8]}'
        node.create_publisher(Detection2DArray, topic, 1)
        infos = node.get_publishers_info_by_topic(topic)
        assert len(infos) == 1
        assert str(infos[0].topic_type_hash) == UPSTREAM_RIHS01['Detection2DArray']
        node.destroy_node()
    finally:
        rclpy.shutdown(context=context)
