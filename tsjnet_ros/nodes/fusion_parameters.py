"""Parameters of the fusion node, declared from one table with descriptions, ranges and mutability.

Every setting of the fusion stream (backend, pairing, preparation, thresholds, task models)
is declared from the field descriptions of
:class:`~tsjnet_ros.core.runtime.stream_settings.StreamSettings`, where its default, range
and description are defined; this module adds only what is ROS's own (start-up, QoS,
transports, which outputs to publish and how). Declaring them from a table keeps the YAML,
the README and the node in agreement, and lets rclpy reject out-of-range values set at
runtime before the node sees them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

from tsjnet_ros.core.runtime.setting_fields import (
    DescribedSetting,
    described_settings,
    parameter_value,
)
from tsjnet_ros.core.runtime.stream_settings import StreamSettings

TRANSPORTS = ('raw', 'compressed')
OUTPUTS = (
    'fused',
    'fused_color',
    'detections',
    'segmentation',
    'segmentation_color',
    'frame',
    'status',
)


@dataclass(frozen=True)
class Spec:
    default: Any
    description: str
    read_only: bool = True
    float_range: tuple[float, float] | None = None
    int_range: tuple[int, int] | None = None
    choices: tuple[str, ...] | None = None

    @classmethod
    def of(cls, setting: DescribedSetting) -> Spec:
        """Return one described stream setting's parameter (its range typed by its default)."""
        default, info = parameter_value(setting.default), setting.info
        ranged = info.value_range is not None
        return cls(
            default,
            info.description,
            read_only=not info.live,
            choices=info.choices,
            float_range=tuple(map(float, info.value_range))
            if ranged and isinstance(default, float)
            else None,
            int_range=tuple(map(int, info.value_range))
            if ranged and isinstance(default, int)
            else None,
        )

    def descriptor(self) -> ParameterDescriptor:
        text = self.description
        if self.choices:
            text += f' ({" | ".join(self.choices)})'
        d = ParameterDescriptor(description=text, read_only=self.read_only)
        if self.float_range:
            d.floating_point_range = [
                FloatingPointRange(from_value=self.float_range[0], to_value=self.float_range[1])
            ]
        if self.int_range:
            d.integer_range = [
                IntegerRange(from_value=self.int_range[0], to_value=self.int_range[1], step=1)
            ]
        return d


# The node's own parameters; everything else is a StreamSettings field.
ROS_PARAMETERS: dict[str, Spec] = {
    'autostart': Spec(
        True, 'configure and activate at start-up (false: wait for lifecycle transitions)'
    ),
    'input_qos': Spec('SENSOR_DATA', 'camera subscription QoS, PRESET[:DEPTH]'),
    'output_qos': Spec('DEFAULT', 'output QoS, PRESET[:DEPTH]'),
    'ir_transport': Spec(
        'raw',
        'IR input: raw (sensor_msgs/Image) or compressed (CompressedImage on <topic>/compressed)',
        choices=TRANSPORTS,
    ),
    'visible_transport': Spec(
        'raw',
        'visible input: raw or compressed (CompressedImage on <topic>/compressed)',
        choices=TRANSPORTS,
    ),
    'classes': Spec([''], "detection class names to keep ([''] or [] = all)", read_only=False),
    'outputs': Spec(list(OUTPUTS), f'outputs to produce, any of {", ".join(OUTPUTS)}'),
}

FUSION_PARAMETERS: dict[str, Spec] = {
    **{s.name: Spec.of(s) for s in described_settings(StreamSettings)},
    **ROS_PARAMETERS,
}


def validate(name: str, value: Any) -> str | None:
    """Reason a value is invalid beyond what the descriptor checks (None when fine)."""
    spec = ROS_PARAMETERS.get(name)
    if spec is None:
        return StreamSettings.problem(name, value)
    if spec.choices and value not in spec.choices:
        return f'{name} must be one of {", ".join(spec.choices)}, got {value!r}'
    if name == 'outputs':
        unknown = [v for v in value if v and v not in OUTPUTS]
        if unknown:
            return f'unknown outputs {unknown}; choose from {", ".join(OUTPUTS)}'
    return None
