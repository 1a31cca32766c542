"""Range-checked command-line numbers stop at parsing, naming the option."""

from __future__ import annotations

import argparse

import pytest

from tsjnet_ros.tools import bag, graph
from tsjnet_ros.tools.arg_types import in_range


def test_in_range_bounds_and_kinds():
    assert in_range(int, 32, 4096)('32') == 32 and in_range(float, 0.0)('0') == 0.0
    with pytest.raises(argparse.ArgumentTypeError, match='must be > 0, got 0'):
        in_range(float, 0.0, above=True)('0')
    with pytest.raises(argparse.ArgumentTypeError, match='must be <= 4096, got 5000'):
        in_range(int, 32, 4096)('5000')
    with pytest.raises(argparse.ArgumentTypeError, match="not a number: '1.5'"):
        in_range(int, 0)('1.5')


@pytest.mark.parametrize(
    'main,argv,message',
    [
        (bag.main, ['make', '--num-targets', '-2'], 'argument --num-targets: must be >= 0'),
        (bag.main, ['make', '--width', '5000'], 'argument --width: must be <= 4096, got 5000'),
        (bag.main, ['replay', '--rate', '0'], 'argument --rate: must be > 0, got 0'),
        (graph.main, ['--duration', '-1'], 'argument --duration: must be >= 0, got -1'),
    ],
)
def test_commands_refuse_out_of_range_numbers(capsys, main, argv, message):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2 and message in capsys.readouterr().err
