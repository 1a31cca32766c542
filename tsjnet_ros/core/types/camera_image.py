"""One decoded camera image, as the fusion stream pairs it (live from a topic or from a bag)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Index of each camera in the per-camera pairs and counters of the fusion stream.
IR, VISIBLE = 0, 1


@dataclass
class CameraImage:
    """A valid camera image waiting for its partner.

    ``array`` is the image in its camera encoding (HxW or HxWxC, 8/16 bit or float); None
    when a bag is only planned (pairs counted, pixels not kept). ``stamp_ns`` is the header
    stamp in nanoseconds (the arrival or log time for an unstamped driver), ``received``
    the monotonic arrival time in seconds; ``log_time_ns`` and ``index`` (message number on
    its topic) are set for images read from a bag.
    """

    stamp_ns: int
    frame_id: str
    encoding: str
    array: np.ndarray | None = None
    received: float = 0.0
    log_time_ns: int = 0
    index: int = -1
