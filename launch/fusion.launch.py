"""Launch the tsjnet_ros node graph on a ROS 2 distro.

    ros2 launch tsjnet_ros fusion.launch.py                       # synthetic cameras
    ros2 launch tsjnet_ros fusion.launch.py use_synthetic:=false \
        ir_topic:=/thermal/image_raw visible_topic:=/color/image_raw
    ros2 launch tsjnet_ros fusion.launch.py composed:=true rviz:=true

``fastdds_profile`` (default config/fastdds_large_images.xml) lets camera-sized images
travel through Fast DDS shared memory between the processes.
``composed:=true`` hosts all nodes in one process on one executor (the Python form of
composition; rclpy has no component containers), exactly like ``tsjnet-graph``.
Both modes read the same parameter file (config/fusion.yaml by default).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from tsjnet_ros.nodes.dds_profile import PROFILE_NAME, profile_environment

ARGUMENTS = {
    "namespace": ("", "namespace for all nodes"),
    "params_file": (None, "parameter YAML shared with tsjnet-graph"),
    "use_synthetic": ("true", "start the built-in synthetic IR/visible cameras"),
    "record": ("false", "start the recorder (latency figures, PNG samples)"),
    "overlay": ("true", "start the debug overlay node (debug/overlay for rviz2)"),
    "ir_topic": ("ir/image", "IR camera image topic"),
    "visible_topic": ("visible/image", "visible camera image topic"),
    "use_sim_time": ("false", "use /clock (bag replay)"),
    "composed": ("false", "all nodes in one process instead of one process per node"),
    "rviz": ("false", "start rviz2 with config/tsjnet.rviz"),
    "log_level": ("info", "ROS log level"),
    "fastdds_profile": (None, "Fast DDS profile for the processes ('' = none; ignored when "
                              "FASTDDS_DEFAULT_PROFILES_FILE is set)"),
}


def _true(context, name: str) -> bool:
    return LaunchConfiguration(name).perform(context).lower() in ("1", "true", "yes", "on")


def _nodes(context, *args, **kwargs):
    share = get_package_share_directory("tsjnet_ros")
    value = lambda name: LaunchConfiguration(name).perform(context)  # noqa: E731
    params = [value("params_file"), {"use_sim_time": _true(context, "use_sim_time")}]
    remaps = [("ir/image", value("ir_topic")), ("visible/image", value("visible_topic"))]
    # Images bigger than Fast DDS's default 512 KB shared-memory segment would cross between
    # these processes as fragmented UDP (config/fastdds_large_images.xml says more).
    dds_env = profile_environment(value("fastdds_profile"))
    common = {
        "namespace": value("namespace"),
        "output": "screen",
        "parameters": params,
        "remappings": remaps,
        "ros_arguments": ["--log-level", value("log_level")],
        "additional_env": dds_env,
    }
    actions = []
    if _true(context, "composed"):
        actions.append(Node(
            package="tsjnet_ros", executable="fusion_graph",
            arguments=["--params", value("params_file"), "--duration", "0", "--quiet",
                       "--input", "synthetic" if _true(context, "use_synthetic") else "topics"],
            **common,
        ))
    else:
        if _true(context, "use_synthetic"):
            actions.append(Node(package="tsjnet_ros", executable="synthetic_cameras", name="synthetic_cameras", **common))
        actions.append(Node(package="tsjnet_ros", executable="fusion_node", name="fusion_node", **common))
        if _true(context, "overlay"):
            actions.append(Node(package="tsjnet_ros", executable="debug_overlay", name="debug_overlay", **common))
        if _true(context, "record"):
            actions.append(Node(package="tsjnet_ros", executable="fused_image_recorder", name="fused_image_recorder", **common))
    if _true(context, "rviz"):
        actions.append(Node(package="rviz2", executable="rviz2", name="rviz2", output="screen",
                            namespace=value("namespace"), additional_env=dds_env,
                            arguments=["-d", os.path.join(share, "config", "tsjnet.rviz")]))
    return actions


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("tsjnet_ros")
    defaults = dict(ARGUMENTS)
    defaults["params_file"] = (os.path.join(share, "config", "fusion.yaml"), ARGUMENTS["params_file"][1])
    defaults["fastdds_profile"] = (os.path.join(share, "config", PROFILE_NAME), ARGUMENTS["fastdds_profile"][1])
    declared = [DeclareLaunchArgument(name, default_value=default, description=text)
                for name, (default, text) in defaults.items()]
    return LaunchDescription(declared + [OpaqueFunction(function=_nodes)])
