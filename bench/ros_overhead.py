"""ROS overhead per frame: end-to-end latency through real rclpy topics minus bare pipeline time.

Both are measured in this one run at 640x480 on the same synthetic pairs and at the same
pair rate: first the bare backend (``backend.fuse`` on numpy arrays, what the node calls), then the same frames
published as sensor_msgs/Image through the fusion node to a subscriber. The pair rate is
low enough that nothing is skipped. Target: overhead <= 3 ms per frame. Two figures: the
p50 of the ROS run minus the p50 of the bare run, and the p50 of the per-frame difference
(each frame's latency minus its own ``backend.fuse`` time inside the node), which is not
swayed by the backend running faster or slower in one phase than in the other. The overhead is
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
        def bare_fuse_ms(ir, visible) -> float:
            start = time.perf_counter()
            backend.fuse(ir, visible)
            return (time.perf_counter() - start) * 1000.0

        for k in range(args.frames):
            frame = loop.bank[k % len(loop.bank)]
            start = time.perf_counter()
            # On the node's inference thread, as in the ROS run, so both use one thread pool.
            bare.append(loop.fusion.run_on_inference_thread(bare_fuse_ms, frame.ir, frame.visible))
            # Same cadence as the ROS run: caches and thread pools go cold between frames
            # there too, so the difference is what ROS adds, not a warmer back-to-back loop.
            time.sleep(max(0.0, start + period - time.perf_counter()))
        in_node_fuse = []  # the same call, timed inside the node, one entry per fused pair in order
        bare_fuse = backend.fuse

        def timed_fuse(ir, visible):
            start = time.perf_counter()
            out = bare_fuse(ir, visible)
            in_node_fuse.append((time.perf_counter() - start) * 1000.0)
            return out

        backend.fuse = timed_fuse
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
    if len(in_node_fuse) == len(result.latencies_ms) == result.received:
        # Per frame: this frame's end-to-end latency minus this frame's own backend.fuse time, so
        # the backend's run-to-run variation cancels (it does not cancel in p50 - p50 above).
        paired = percentiles([e - f for e, f in zip(result.latencies_ms[5:], in_node_fuse[5:])])
        print(f"per-frame overhead p50 {paired['p50']:.2f} ms  p95 {paired['p95']:.2f} ms  mean {paired['mean']:.2f} ms "
              "(end-to-end minus the same frame's backend.fuse)")
    if in_node and node_fuse:
        print(f"  inside the node: receive -> published p50 {in_node['p50']:.2f} ms, of which preparation + "
              f"fusion p50 {node_fuse['p50']:.2f} ms (node bookkeeping {in_node['p50'] - node_fuse['p50']:.2f} ms)")
        print(f"  topics, callbacks and the receiver: {e2e_p['p50'] - in_node['p50']:.2f} ms (e2e p50 - in-node p50)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
