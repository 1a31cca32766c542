"""``tsjnet-run``: the main job. Input -> bag -> live node graph -> offline report.

With no input it makes a sample bag from the built-in synthetic camera pair (a night
street with warm people and cars). An input may be a rosbag2 bag (folder, .mcap or
.db3) or a folder of registered IR/visible pairs (MSRS layout: ir/, vi/, labels/), which
is first written into a bag. The bag is then replayed in real time through the fusion
node graph (what a robot would see) and evaluated offline on every pair, and the
command prints where the report and pictures are.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Sequence

from tsjnet_ros.tools import bag as bag_tool


def _is_bag(path: Path) -> bool:
    return path.suffix in (".mcap", ".db3") or (path / "metadata.yaml").is_file()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="tsjnet-run",
        description="Make (or take) a bag, replay it through the ROS 2 node graph and write an evaluation report.",
    )
    parser.add_argument("input", nargs="?", type=Path, default=None,
                        help="rosbag2 bag or folder of IR/VIS pairs (default: synthetic sample)")
    parser.add_argument("--out", type=Path, default=Path("output"), help="output folder (default output/)")
    parser.add_argument("--backend", default=None, help="fusion backend (default: the parameter file's, the shipped model)")
    parser.add_argument("--checkpoint", default=None, help="model checkpoint for the tsjnet backend")
    parser.add_argument("--duration", type=float, default=3.0, help="seconds of synthetic sample bag (default 3)")
    parser.add_argument("--rate", type=float, default=1.0, help="replay rate factor (default 1 = real time)")
    args = parser.parse_args(argv)
    if args.input is not None and not args.input.exists():
        parser.error(f"input not found: {args.input}")
    return args


def _step(title: str) -> None:
    print(f"\n[tsjnet-run] === {title} ===", flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out
    pipeline = (["--backend", args.backend] if args.backend else []) + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
    if args.input is not None and _is_bag(args.input):
        bag = args.input
    else:
        bag = out / "input_bag"
        source = ["--source", str(args.input)] if args.input is not None else ["--duration", str(args.duration)]
        _step(f"1/3 make a bag from {args.input or 'the synthetic camera pair'}")
        if bag_tool.main(["make", *source, "--out", str(bag), "--force", "--no-progress"]) != 0:
            return 2
    replay_json = out / "replay.json"
    _step("2/3 replay the bag through the live node graph (/clock, use_sim_time)")
    replay_status = bag_tool.main(["replay", str(bag), "--rate", str(args.rate), "--out", str(replay_json), *pipeline])
    report = out / "report"
    _step("3/3 evaluate every synchronised pair offline")
    evaluate_status = bag_tool.main(["evaluate", str(bag), "--out", str(report), "--no-progress", *pipeline])
    _step("results")
    if replay_json.is_file():
        trial = json.loads(replay_json.read_text()).get("trial", {})
        print(f"  live replay: {trial.get('frames_received', 0)} of {trial.get('expected_outputs', 0)} pairs fused "
              f"({trial.get('missed_frames', 0)} skipped while busy), {trial.get('mean_output_fps', 0):.1f} fps, "
              f"latency p50 {trial.get('latency_ms', {}).get('p50', float('nan')):.1f} ms: {replay_json}")
    for name, what in (("report.md", "report"), ("contact_sheet.png", "contact sheet (IR | visible | fused)"),
                       ("per_frame_metrics.png", "per-frame metrics"), ("latency.png", "latency over time"),
                       ("fused_bag", "output bag (fused, detections, segmentation, overlay)")):
        path = report / name
        if path.exists():
            print(f"  {what}: {path}")
    return max(replay_status, evaluate_status)


if __name__ == "__main__":
    sys.exit(main())
