"""What ``launch/fusion.launch.py`` starts, decided from its arguments without ``launch``.

The launch file resolves its arguments to strings, calls :func:`plan_processes` and turns
each :class:`ProcessSpec` into a ``launch_ros`` ``Node``. Every check happens here, before
anything starts: a missing parameter file, a missing Fast DDS profile or ``rviz:=true``
without rviz2 stop the launch with :class:`LaunchArgumentError` (launch prints the message
and exits 1) instead of leaving some nodes running. Keeping this free of ``launch`` lets it
be tested on machines without a ROS 2 distro.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tsjnet_ros.nodes.dds_profile import PROFILE_NAME, profile_environment
from tsjnet_ros.nodes.graph_isolation import environment_domain

OFF = 'none'  # fastdds_profile value that turns the profile off ('' cannot be typed as name:=)

# name -> (default, description); None defaults are filled in from the package share folder.
ARGUMENTS: dict[str, tuple[str | None, str]] = {
    'namespace': ('', 'namespace for all nodes'),
    'params_file': (None, 'parameter YAML shared with tsjnet-graph'),
    'use_synthetic': ('true', 'start the built-in synthetic IR/visible cameras'),
    'record': ('false', 'start the recorder (latency figures, PNG samples in record_dir)'),
    'record_dir': (
        '',
        "folder for the recorder's PNG samples ('' = $ROS_HOME/tsjnet_ros/recordings/<time>)",
    ),
    'overlay': ('true', 'start the debug overlay node (debug/overlay for rviz2)'),
    'ir_topic': ('ir/image', 'IR camera image topic'),
    'visible_topic': ('visible/image', 'visible camera image topic'),
    'use_sim_time': ('false', 'use /clock (bag replay)'),
    'composed': ('false', 'all nodes in one process instead of one process per node'),
    'rviz': ('false', 'start rviz2 with config/tsjnet.rviz'),
    'log_level': ('info', 'ROS log level'),
    'fastdds_profile': (
        None,
        f"Fast DDS profile for the processes ('{OFF}' = none; ignored when "
        'FASTDDS_DEFAULT_PROFILES_FILE is set)',
    ),
}


class LaunchArgumentError(ValueError):
    """A launch argument that cannot work; raised before any process starts."""


@dataclass(frozen=True)
class ProcessSpec:
    """One process for ``launch_ros.actions.Node`` (same field meanings)."""

    package: str
    executable: str
    name: str | None = None
    namespace: str = ''
    parameters: list[Any] = field(default_factory=list)
    arguments: list[str] = field(default_factory=list)
    remappings: list[tuple[str, str]] = field(default_factory=list)
    ros_arguments: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)


def default_values(share: Path) -> dict[str, str]:
    """Every argument's default, with the package's own files for the path arguments."""
    values = {name: default for name, (default, _) in ARGUMENTS.items()}
    values['params_file'] = str(share / 'config' / 'fusion.yaml')
    values['fastdds_profile'] = str(share / 'config' / PROFILE_NAME)
    return values  # type: ignore[return-value]


def is_true(value: str) -> bool:
    return value.strip().lower() in ('1', 'true', 'yes', 'on')


def plan_processes(
    values: Mapping[str, str],
    share: Path,
    package_prefix: Callable[[str], str],
    environ: Mapping[str, str] | None = None,
) -> list[ProcessSpec]:
    """Plan the processes for these argument values (all given as strings, as launch has them).

    ``package_prefix`` finds an installed package (``ament_index_python``'s
    ``get_package_prefix``) and raises LookupError when it is missing.
    Raises :class:`LaunchArgumentError` naming the argument that cannot work.
    """
    env = os.environ if environ is None else environ
    v = {**default_values(share), **values}
    params_file = Path(v['params_file']).expanduser()
    if not params_file.is_file():
        raise LaunchArgumentError(
            f'params_file not found: {params_file} (give an existing YAML as params_file:=PATH)'
        )
    profile = v['fastdds_profile'].strip()
    if profile.lower() in (OFF, '', "''", '""'):
        profile = ''
    elif not Path(profile).expanduser().is_file():
        raise LaunchArgumentError(
            f'fastdds_profile not found: {profile} (give an existing XML file, or '
            f'fastdds_profile:={OFF} for Fast DDS defaults)'
        )
    if is_true(v['rviz']):
        try:
            package_prefix('rviz2')
        except LookupError:
            raise LaunchArgumentError(
                "rviz:=true but the package 'rviz2' is not installed (install "
                'ros-$ROS_DISTRO-rviz2, or launch with rviz:=false)'
            ) from None
    overlay, record = is_true(v['overlay']), is_true(v['record'])
    record_dir = _record_dir(v['record_dir'], env) if record else ''
    dds_env = profile_environment(profile, env)
    common = dict(
        namespace=v['namespace'],
        parameters=[str(params_file), {'use_sim_time': is_true(v['use_sim_time'])}],
        remappings=[('ir/image', v['ir_topic']), ('visible/image', v['visible_topic'])],
        ros_arguments=['--log-level', v['log_level']],
        env=dds_env,
    )
    recorder_params = {'output_dir': record_dir}
    if not overlay:  # the recorder's default topic is the overlay's output
        recorder_params['topic'] = 'fused/image_color'
    specs = []
    if is_true(v['composed']):
        arguments = [
            '--params',
            str(params_file),
            '--duration',
            '0',
            '--quiet',
            '--input',
            'synthetic' if is_true(v['use_synthetic']) else 'topics',
            f'--output-dir={record_dir}',  # '' = no files
            '--domain-id',
            str(environment_domain(env)),
        ]  # the launch's graph, not one of its own
        arguments += [] if overlay else ['--no-overlay']
        arguments += [] if record else ['--no-recorder']
        specs.append(ProcessSpec('tsjnet_ros', 'fusion_graph', arguments=arguments, **common))
    else:
        if is_true(v['use_synthetic']):
            specs.append(
                ProcessSpec('tsjnet_ros', 'synthetic_cameras', 'synthetic_cameras', **common)
            )
        specs.append(ProcessSpec('tsjnet_ros', 'fusion_node', 'fusion_node', **common))
        if overlay:
            specs.append(ProcessSpec('tsjnet_ros', 'debug_overlay', 'debug_overlay', **common))
        if record:
            recorder = dict(common, parameters=common['parameters'] + [recorder_params])
            specs.append(
                ProcessSpec(
                    'tsjnet_ros', 'fused_image_recorder', 'fused_image_recorder', **recorder
                )
            )
    if is_true(v['rviz']):
        config = rviz_config(share / 'config' / 'tsjnet.rviz', v['namespace'])
        specs.append(
            ProcessSpec(
                'rviz2',
                'rviz2',
                'rviz2',
                namespace=v['namespace'],
                env=dds_env,
                arguments=['-d', str(config)],
            )
        )
    return specs


def _record_dir(value: str, env: Mapping[str, str]) -> str:
    if value:
        return str(Path(value).expanduser())
    ros_home = Path(env.get('ROS_HOME') or Path.home() / '.ros').expanduser()
    return str(ros_home / 'tsjnet_ros' / 'recordings' / time.strftime('%Y%m%d-%H%M%S'))


def rviz_config(shipped: Path, namespace: str, out_dir: Path | None = None) -> Path:
    """Return ``shipped`` itself without a namespace; otherwise a copy moved into ``namespace``.

    The copy (in ``out_dir``, default the temp folder) has its absolute display topics moved
    into ``namespace``, since rviz2 subscribes to the topics exactly as the file names them.
    """
    ns = '/' + namespace.strip('/') if namespace.strip('/') else ''
    if not ns:
        return shipped
    config = yaml.safe_load(shipped.read_text())
    for display in config['Visualization Manager']['Displays']:
        topic = display.get('Topic', {})
        if str(topic.get('Value', '')).startswith('/'):
            topic['Value'] = ns + topic['Value']
    out_dir = Path(tempfile.gettempdir()) / 'tsjnet_ros' if out_dir is None else out_dir
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f'tsjnet{ns.replace("/", "_")}.rviz'
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path
