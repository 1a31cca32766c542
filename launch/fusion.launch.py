"""Launch the tsjnet_ros node graph on a ROS 2 distro.

    ros2 launch tsjnet_ros fusion.launch.py                       # synthetic cameras
    ros2 launch tsjnet_ros fusion.launch.py use_synthetic:=false \
        ir_topic:=/thermal/image_raw visible_topic:=/color/image_raw
    ros2 launch tsjnet_ros fusion.launch.py composed:=true rviz:=true
    ros2 launch tsjnet_ros fusion.launch.py record:=true         # PNG samples + latency log

``fastdds_profile`` (default config/fastdds_large_images.xml; ``none`` = Fast DDS defaults)
lets camera-sized images travel through Fast DDS shared memory between the processes.
``composed:=true`` hosts all nodes in one process on one executor (the Python form of
composition; rclpy has no component containers), exactly like ``tsjnet-graph``.
Both modes read the same parameter file (config/fusion.yaml by default). The arguments
are checked before anything starts (tsjnet_ros/launch_plan.py): a missing params_file or
rviz2 stops the launch with the reason. Ctrl-C stops every node within 3 s.
"""

from pathlib import Path

from ament_index_python.packages import get_package_prefix, get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from tsjnet_ros.launch_plan import ARGUMENTS, default_values, plan_processes


def _nodes(context, *args, **kwargs):
    share = Path(get_package_share_directory('tsjnet_ros'))
    values = {name: LaunchConfiguration(name).perform(context) for name in ARGUMENTS}
    return [
        Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            namespace=spec.namespace,
            output='screen',
            parameters=spec.parameters,
            remappings=spec.remappings,
            arguments=spec.arguments,
            ros_arguments=spec.ros_arguments,
            additional_env=spec.env,
        )
        for spec in plan_processes(values, share, get_package_prefix)
    ]


def generate_launch_description() -> LaunchDescription:
    defaults = default_values(Path(get_package_share_directory('tsjnet_ros')))
    declared = [
        DeclareLaunchArgument(name, default_value=defaults[name], description=text)
        for name, (_, text) in ARGUMENTS.items()
    ]
    return LaunchDescription(declared + [OpaqueFunction(function=_nodes)])
