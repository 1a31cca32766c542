"""``tsjnet-bag make`` for tests: keyword options instead of argument lists."""

from __future__ import annotations

from pathlib import Path


def make_bag(out: Path, *extra: str, **options: object) -> Path:
    """Make a bag at ``out`` and return its path (fails the test when the command fails).

    ``width=64`` becomes ``--width 64``, ``no_progress=True`` becomes ``--no-progress``;
    ``extra`` arguments are passed as they are.
    """
    from tsjnet_ros.tools.bag import main

    args = ['make', '--out', str(out)]
    for name, value in options.items():
        flag = '--' + name.replace('_', '-')
        if value is True:
            args.append(flag)
        elif value is not None and value is not False:
            args += [flag, str(value)]
    assert main([*args, *extra]) == 0
    return out
