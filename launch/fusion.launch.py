"""Launch the tsjnet_ros node graph on a ROS 2 distro.

    ros2 launch tsjnet_ros fusion.launch.py                       # synthetic cameras
    ros2 launch tsjnet_ros fusion.launch.py use_synthetic:=false \
        ir_topic:=/thermal/image_raw visible_topic:=/color/image_raw

Reads the same parameter file as `tsjnet-graph` (config/fusion.yaml by default).
"""

import os

from ament_index_python.packages import get_package_share_directory
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue


def generate_launch_description() -> LaunchDescription:
    share = get_package_share_directory("tsjnet_ros")
    namespace = LaunchConfiguration("namespace")
    params_file = LaunchConfiguration("params_file")
    use_sim_time = ParameterValue(LaunchConfiguration("use_sim_time"), value_type=bool)
    log_level = LaunchConfiguration("log_level")
    common = {"namespace": namespace, "output": "screen", "arguments": ["--ros-args", "--log-level", log_level]}
    camera_remaps = [
        ("ir/image", LaunchConfiguration("ir_topic")),
        ("visible/image", LaunchConfiguration("visible_topic")),
    ]
    return LaunchDescription([
        DeclareLaunchArgument("namespace", default_value="", description="namespace for all nodes"),
        DeclareLaunchArgument("params_file", default_value=os.path.join(share, "config", "fusion.yaml"),
                              description="parameter YAML shared with tsjnet-graph"),
        DeclareLaunchArgument("use_synthetic", default_value="true",
                              description="start the built-in synthetic IR/visible cameras"),
        DeclareLaunchArgument("record", default_value="false",
                              description="start the recorder that measures latency and saves PNG samples"),
        DeclareLaunchArgument("ir_topic", default_value="ir/image", description="IR camera image topic"),
        DeclareLaunchArgument("visible_topic", default_value="visible/image", description="visible camera image topic"),
        DeclareLaunchArgument("use_sim_time", default_value="false", description="use /clock (bag replay)"),
        DeclareLaunchArgument("log_level", default_value="info", description="ROS log level"),
        Node(package="tsjnet_ros", executable="synthetic_cameras", name="synthetic_cameras",
             parameters=[params_file, {"use_sim_time": use_sim_time}], remappings=camera_remaps,
             condition=IfCondition(LaunchConfiguration("use_synthetic")), **common),
        Node(package="tsjnet_ros", executable="fusion_node", name="fusion_node",
             parameters=[params_file, {"use_sim_time": use_sim_time}], remappings=camera_remaps, **common),
        Node(package="tsjnet_ros", executable="fused_image_recorder", name="fused_image_recorder",
             parameters=[params_file, {"use_sim_time": use_sim_time}],
             condition=IfCondition(LaunchConfiguration("record")), **common),
    ])
