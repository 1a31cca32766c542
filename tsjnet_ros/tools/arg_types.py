"""argparse types for numbers with a range, so a bad value stops at parsing with its name."""

from __future__ import annotations

import argparse
from collections.abc import Callable


def in_range(
    kind: type = float, low: float | None = None, high: float | None = None, *, above: bool = False
) -> Callable[[str], float | int]:
    """Parse ``kind`` and require ``low <= value <= high`` (``low < value`` with ``above``).

    Raises :class:`argparse.ArgumentTypeError`, which argparse prints with the option name.
    """

    def parse(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'not a number: {text!r}') from None
        if low is not None and (value <= low if above else value < low):
            raise argparse.ArgumentTypeError(
                f'must be {">" if above else ">="} {low:g}, got {text}'
            )
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f'must be <= {high:g}, got {text}')
        return value

    return parse
