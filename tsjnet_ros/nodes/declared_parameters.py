"""Declaring a node's parameters so that a parameter file's mistakes read as one line.

rclpy refuses ``slop: 1`` for a double parameter and ``ir_range: [0, 255]`` for a double
array (YAML has no way to say "this integer is a float"), and reports either, or a value
outside the descriptor's range, as a traceback from inside the node's constructor. Here an
integer given for a float parameter is taken as that float, and every other refusal
becomes a :class:`ParameterFileError` naming the node, the parameter, the value and what
it must be.
"""

from __future__ import annotations

from typing import Any

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException
from rclpy.node import Node
from rclpy.parameter import Parameter


class ParameterFileError(ValueError):
    """A parameter override (parameter file, ``-p``, launch) that the node cannot take."""


def _as_float_override(default: Any, given: Parameter) -> Parameter | None:
    """``given`` as the double (array) ``default`` asks for, when it holds integers only."""
    value = given.value
    if isinstance(default, float) and given.type_ == Parameter.Type.INTEGER:
        return Parameter(given.name, Parameter.Type.DOUBLE, float(value))
    if (
        isinstance(default, list | tuple)
        and default
        and all(isinstance(v, float) for v in default)
        and given.type_ == Parameter.Type.INTEGER_ARRAY
    ):
        return Parameter(given.name, Parameter.Type.DOUBLE_ARRAY, [float(v) for v in value])
    return None


def declare(node: Node, name: str, default: Any, descriptor: ParameterDescriptor) -> Any:
    """``node.declare_parameter(name, default, descriptor)`` with the override checked.

    Returns the declared value. Raises :class:`ParameterFileError` when the override has
    another type than ``default`` (integers for floats excepted) or breaks the descriptor's
    range.
    """
    overrides = node._parameter_overrides  # rclpy keeps the node's overrides here
    given = overrides.get(name)
    if given is not None:
        widened = _as_float_override(default, given)
        if widened is not None:
            overrides[name] = widened
    try:
        return node.declare_parameter(name, default, descriptor).value
    except InvalidParameterTypeException:
        expected = Parameter.Type.from_parameter_value(default).name.lower().replace('_', ' ')
        article = 'an' if expected[0] in 'aeiou' else 'a'
        raise ParameterFileError(
            f'{node.get_name()}: parameter {name} = {given.value!r} '
            f'({given.type_.name.lower().replace("_", " ")}) must be {article} {expected}'
        ) from None
    except InvalidParameterValueException as exc:
        reason = str(exc).split('Reason: ', 1)[-1].rsplit(':', 1)[0]
        raise ParameterFileError(
            f'{node.get_name()}: parameter {name} = {given.value!r} is refused: {reason}'
        ) from None


def init_with_parameter_file(args: list[str] | None = None, **kwargs: Any) -> None:
    """Run ``rclpy.init``; a parameter file rcl cannot parse raises ParameterFileError."""
    import rclpy
    from rclpy._rclpy_pybind11 import RCLError

    try:
        rclpy.init(args=args, **kwargs)
    except RCLError as exc:
        if 'params file' not in str(exc):
            raise
        raise ParameterFileError(f'cannot read the parameter file: {exc}') from None


def warn_undeclared(node: Node) -> list[str]:
    """Warn once about overrides that match no parameter of ``node``; return their names.

    rclpy ignores them silently: a typo such as ``slopp``, or a key one level too high.
    """
    declared = set(node._parameters)  # rclpy keeps the declared parameters here
    unknown = sorted(
        name
        for name in node._parameter_overrides
        if name not in declared and not name.startswith('qos_overrides.')
    )
    if unknown:
        node.get_logger().warning(
            f'ignoring parameter(s) this node does not have: {", ".join(unknown)} '
            f'(check the spelling and the node name in the parameter file)'
        )
    return unknown
