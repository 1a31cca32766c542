"""ROS overhead per frame: end-to-end latency through real rclpy topics minus bare pipeline time.

Both are measured in this one run at 640x480 on the same synthetic pairs and at the same
pair rate: first the bare backend (``backend.fuse`` on numpy arrays, what the node calls), then the same frames
published as sensor_msgs/Image through the fusion node to a subscriber. The pair rate is
low enough that nothing is skipped. Target: overhead <= 3 ms per frame. The overhead is
split into the node's own bookkeeping (message decoding, pairing, output messages) and
the rest (serialisation, DDS, executor callbacks on both sides).

    .venv/bin/python bench/ros_overhead.py [--frames 200] [--rate 5] [--backend NAME]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ros_loop import FusionLoop, default_backend_params, percentiles  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--rate", type=float, default=5.0, help="pairs per second (keep below the backend's speed)")
    parser.add_argument("--backend", default=None, help="fusion_backend parameter (default: shipped model if present)")
    parser.add_argument("--cpu-threads", type=int, default=0, help="cpu_threads parameter (0 = auto)")
    args = parser.parse_args()
    params = default_backend_params() if args.backend is None else {"fusion_backend": args.backend}
    params["cpu_threads"] = args.cpu_threads
    params["input_qos"] = "RELIABLE"
    loop = FusionLoop(params)
    try:
        backend = loop.fusion._backend
        bare = []
        period = 1.0 / args.rate
        for k in range(args.frames):
            frame = loop.bank[k % len(loop.bank)]
            start = time.perf_counter()
            backend.fuse(frame.ir, frame.visible)
            bare.append((time.perf_counter() - start) * 1000.0)
            # Same cadence as the ROS run: caches and thread pools go cold between frames
            # there too, so the difference is what ROS adds, not a warmer back-to-back loop.
            time.sleep(max(0.0, start + period - time.perf_counter()))
        result = loop.run(args.frames, args.rate)
        in_node = loop.fusion.latency_ms.summary()  # last image received -> primary outputs published
        node_fuse = loop.fusion.inference_ms.summary()  # pair preparation + backend, inside the node
    finally:
        loop.close()
    bare_p = percentiles(bare)
    e2e_p = percentiles(result.latencies_ms[5:])  # the first frames include DDS warm-up
    overhead = e2e_p["p50"] - bare_p["p50"]
    print(f"backend {backend.name}, 640x480, {args.frames} pairs at {args.rate} Hz, received {result.received}, "
          f"skipped {loop.fusion.counters.skipped}, intra-op threads {torch.get_num_threads()}")
    print(f"bare pipeline      p50 {bare_p['p50']:.2f} ms  p95 {bare_p['p95']:.2f} ms")
    print(f"through rclpy      p50 {e2e_p['p50']:.2f} ms  p95 {e2e_p['p95']:.2f} ms")
    print(f"ROS overhead (p50) {overhead:.2f} ms per frame (target <= 3 ms)")
    print(f"overhead mean      {np.mean(result.latencies_ms[5:]) - np.mean(bare):.2f} ms")
    if in_node and node_fuse:
        print(f"  inside the node: receive -> published p50 {in_node['p50']:.2f} ms, of which preparation + "
              f"fusion p50 {node_fuse['p50']:.2f} ms (node bookkeeping {in_node['p50'] - node_fuse['p50']:.2f} ms)")
        print(f"  topics, callbacks and the receiver: {e2e_p['p50'] - in_node['p50']:.2f} ms (e2e p50 - in-node p50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
