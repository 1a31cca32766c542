"""The launch file, where a ROS 2 distro provides launch_ros; its syntax everywhere."""

from __future__ import annotations

import ast
import importlib.util

import pytest

from conftest import REPO_ROOT

LAUNCH_FILE = REPO_ROOT / "launch" / "fusion.launch.py"


def test_launch_file_parses_and_declares_arguments():
    ast.parse(LAUNCH_FILE.read_text())
    from tsjnet_ros.launch_plan import ARGUMENTS

    assert {"namespace", "params_file", "use_synthetic", "ir_topic", "visible_topic", "use_sim_time",
            "composed", "overlay", "record", "record_dir", "rviz", "fastdds_profile"} <= set(ARGUMENTS)
    import re

    from tsjnet_ros.launch_plan import plan_processes

    scripts = set(re.findall(r'"(\w+) = tsjnet_ros', (REPO_ROOT / "setup.py").read_text()))
    for composed in ("false", "true"):
        specs = plan_processes({"composed": composed, "record": "true", "rviz": "true"}, REPO_ROOT, lambda p: "/opt",
                               environ={})
        executables = {s.executable for s in specs if s.package == "tsjnet_ros"}
        assert executables <= scripts, "the launch file names an executable setup.py does not install"


@pytest.mark.skipif(
    importlib.util.find_spec("launch_ros") is None,
    reason="launch_ros is not installed (needs a ROS 2 distro; not available from PyPI)",
)
def test_launch_description_builds():  # pragma: no cover - runs only on a distro
    from launch import LaunchDescription

    spec = importlib.util.spec_from_file_location("fusion_launch", LAUNCH_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    description = module.generate_launch_description()
    assert isinstance(description, LaunchDescription)
    from tsjnet_ros.launch_plan import ARGUMENTS

    assert len(description.entities) == len(ARGUMENTS) + 1  # the arguments + the node builder


def test_rviz_config_shows_the_three_images():
    import yaml

    config = yaml.safe_load((REPO_ROOT / "config" / "tsjnet.rviz").read_text())
    displays = config["Visualization Manager"]["Displays"]
    topics = {d["Topic"]["Value"] for d in displays if d["Class"] == "rviz_default_plugins/Image"}
    assert topics == {"/fused/image_color", "/debug/overlay", "/segmentation/color"}
