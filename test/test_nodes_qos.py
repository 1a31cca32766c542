"""QoS parameter strings."""

from __future__ import annotations

import pytest
from rclpy.qos import QoSPresetProfiles, ReliabilityPolicy

from tsjnet_ros.nodes.qos import qos_from_string, qos_names


def test_presets_and_depth():
    assert qos_from_string('SENSOR_DATA') == QoSPresetProfiles.SENSOR_DATA.value
    profile = qos_from_string(' sensor_data:3 ')
    assert profile.depth == 3 and profile.reliability == ReliabilityPolicy.BEST_EFFORT
    assert qos_from_string('RELIABLE').reliability == ReliabilityPolicy.RELIABLE
    assert QoSPresetProfiles.SENSOR_DATA.value.depth == 5  # preset not mutated
    assert 'SENSOR_DATA' in qos_names() and 'BEST_EFFORT' in qos_names()


@pytest.mark.parametrize(
    'text,message', [('FAST', 'unknown QoS'), ('DEFAULT:x', 'integer'), ('DEFAULT:0', '>= 1')]
)
def test_bad_qos_strings(text, message):
    with pytest.raises(ValueError, match=message):
        qos_from_string(text)
