"""Settings described once, on the dataclass field: default, description, range, choices.

The fusion stream's settings dataclass is the one place a setting is defined; the ROS
node declares its parameters from these field descriptions (``nodes/fusion_parameters``),
and the bag tools read the same fields from a parameter file, so a default or a range
cannot differ between them.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields, is_dataclass
from typing import Any

KEY = 'setting'


@dataclass(frozen=True)
class SettingInfo:
    """What a user is told about one setting.

    ``live``: may change while running (otherwise read at configure time); ``value_range``
    (low, high) inclusive, for numbers; ``choices``: the accepted strings.
    """

    description: str
    live: bool = False
    value_range: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None

    def problem(self, name: str, value: Any) -> str | None:
        """Why ``value`` breaks the choices or the range (None when it does not)."""
        if self.choices is not None and value not in self.choices:
            return f'{name} must be one of {", ".join(self.choices)}, got {value!r}'
        if self.value_range is not None:
            low, high = self.value_range
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not low <= value <= high
            ):
                return f'{name} must be in [{low:g}, {high:g}], got {value!r}'
        return None


def setting(
    default: Any,
    description: str,
    *,
    live: bool = False,
    value_range: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """Make a dataclass field with its :class:`SettingInfo` (immutable defaults: tuples)."""
    info = SettingInfo(
        description, live, value_range, tuple(choices) if choices is not None else None
    )
    return field(default=default, metadata={KEY: info})


@dataclass(frozen=True)
class DescribedSetting:
    name: str
    default: Any
    info: SettingInfo
    group: str | None  # the nested settings field holding it (e.g. "tasks"), None at the top


def described_settings(cls: type) -> list[DescribedSetting]:
    """List every described field of ``cls``, nested settings dataclasses flattened.

    Nested fields keep their own names, as the parameters do.
    """
    found: list[DescribedSetting] = []
    for f in fields(cls):
        default = (
            f.default
            if f.default is not MISSING
            else (f.default_factory() if f.default_factory is not MISSING else None)
        )
        if KEY in f.metadata:
            found.append(DescribedSetting(f.name, default, f.metadata[KEY], None))
        elif is_dataclass(default):
            found += [
                DescribedSetting(s.name, s.default, s.info, f.name)
                for s in described_settings(type(default))
            ]
    return found


def parameter_value(value: Any) -> Any:
    """Convert a setting value to a ROS parameter value (tuples as lists)."""
    return list(value) if isinstance(value, tuple) else value
