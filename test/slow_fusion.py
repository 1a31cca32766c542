"""Run a node executable's ``main`` with a fusion backend that takes as long as we say.

    python test/slow_fusion.py fusion_node|graph [args...]

``SLOW_FRAME_S``: seconds each ``average`` fusion takes (prints ``FRAME STARTED`` first);
``SLOW_CREATE_S``: seconds building the backend takes (prints ``CREATING BACKEND`` first).
The wait sits in ``time.sleep``, native code without the GIL, as a PyTorch forward pass
does, so the stop tests see a process whose model thread is busy for as long as they like.
"""

from __future__ import annotations

import os
import sys
import time

from tsjnet_ros.core.fusion import classical, registry

_fuse = classical.PixelFusion.fuse
_create = registry.create_backend


def _slow_fuse(self, ir, visible):
    print('FRAME STARTED', flush=True)
    time.sleep(float(os.environ.get('SLOW_FRAME_S', '0')))
    return _fuse(self, ir, visible)


def _slow_create(name, **kwargs):
    print('CREATING BACKEND', flush=True)
    time.sleep(float(os.environ.get('SLOW_CREATE_S', '0')))
    return _create(name, **kwargs)


classical.PixelFusion.fuse = _slow_fuse
if 'SLOW_CREATE_S' in os.environ:
    import tsjnet_ros.core.fusion as fusion

    fusion.create_backend = _slow_create

if __name__ == '__main__':
    which = sys.argv.pop(1)
    if which == 'graph':
        from tsjnet_ros.tools.graph import main
    else:
        from tsjnet_ros.nodes.fusion_node import main
    sys.exit(main(sys.argv if which != 'graph' else sys.argv[1:]))
