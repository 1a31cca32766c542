"""What the launch file starts for each argument, checked without ``launch`` (launch_plan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import REPO_ROOT

from tsjnet_ros.launch_plan import (
    ARGUMENTS,
    LaunchArgumentError,
    default_values,
    plan_processes,
    rviz_config,
)
from tsjnet_ros.nodes.dds_profile import PROFILE_VARIABLE

SHARE = REPO_ROOT  # the installed share folder has the same config/ layout


def no_rviz(package: str) -> str:
    raise KeyError(package)  # ament_index_python's PackageNotFoundError is a KeyError


def with_rviz(package: str) -> str:
    return '/opt/ros/kilted'


def plan(environ=None, find=no_rviz, **values):
    return plan_processes(
        {k: str(v) for k, v in values.items()},
        SHARE,
        find,
        environ={} if environ is None else environ,
    )


def by_executable(specs):
    return {s.executable: s for s in specs}


def test_defaults_start_cameras_fusion_and_overlay_with_the_profile():
    specs = by_executable(plan())
    assert list(specs) == ['synthetic_cameras', 'fusion_node', 'debug_overlay']
    fusion = specs['fusion_node']
    assert fusion.parameters == [str(SHARE / 'config' / 'fusion.yaml'), {'use_sim_time': False}]
    assert fusion.env == {PROFILE_VARIABLE: str(SHARE / 'config' / 'fastdds_large_images.xml')}
    assert fusion.remappings == [('ir/image', 'ir/image'), ('visible/image', 'visible/image')]


def test_missing_params_file_stops_the_launch_with_its_path(tmp_path):
    missing = tmp_path / 'nope.yaml'
    with pytest.raises(LaunchArgumentError, match=f'params_file not found: {missing}'):
        plan(params_file=missing)
    with pytest.raises(LaunchArgumentError, match='params_file not found'):
        plan(params_file=missing, composed='true')


def test_rviz_without_rviz2_fails_before_anything_starts():
    with pytest.raises(LaunchArgumentError, match="'rviz2' is not installed"):
        plan(rviz='true')  # raised instead of returning any process: nothing is left running
    assert 'rviz2' in by_executable(plan(rviz='true', find=with_rviz))
    assert 'rviz2' not in by_executable(plan(rviz='false'))


@pytest.mark.parametrize('off', ['none', 'None', "''"])
def test_fastdds_profile_none_turns_the_profile_off(off):
    assert all(spec.env == {} for spec in plan(fastdds_profile=off))


def test_fastdds_profile_that_does_not_exist_is_refused(tmp_path):
    with pytest.raises(
        LaunchArgumentError, match='fastdds_profile not found.*fastdds_profile:=none'
    ):
        plan(fastdds_profile=tmp_path / 'missing.xml')


def test_record_starts_a_recorder_that_saves_into_ros_home(tmp_path):
    specs = by_executable(plan(record='true', environ={'ROS_HOME': str(tmp_path)}))
    recorder_params = specs['fused_image_recorder'].parameters[-1]
    assert Path(recorder_params['output_dir']).parent == tmp_path / 'tsjnet_ros' / 'recordings'
    assert (
        'topic' not in recorder_params
    )  # the overlay runs: the recorder takes debug/overlay from the YAML
    chosen = by_executable(plan(record='true', record_dir=tmp_path / 'mine', overlay='false'))
    assert chosen['fused_image_recorder'].parameters[-1] == {
        'output_dir': str(tmp_path / 'mine'),
        'topic': 'fused/image_color',
    }


def test_composed_passes_overlay_record_and_output_folder_to_the_one_process(tmp_path):
    (graph,) = plan(composed='true')
    assert graph.executable == 'fusion_graph' and graph.name is None
    assert '--output-dir=' in graph.arguments and '--no-recorder' in graph.arguments
    assert '--no-overlay' not in graph.arguments
    i = graph.arguments.index('--domain-id')
    assert (
        graph.arguments[i + 1] == '0'
    )  # the launch's graph (ROS_DOMAIN_ID unset here), not one of its own
    (graph,) = plan(composed='true', overlay='false', record='true', record_dir=tmp_path)
    assert f'--output-dir={tmp_path}' in graph.arguments and '--no-overlay' in graph.arguments
    assert '--no-recorder' not in graph.arguments
    assert graph.parameters[0] == str(SHARE / 'config' / 'fusion.yaml')


def test_composed_arguments_are_accepted_by_the_runner(tmp_path):
    from tsjnet_ros.tools.graph import parse_args

    (graph,) = plan(composed='true', overlay='false')
    args, _ = parse_args(graph.arguments)
    assert args.duration == 0 and args.output_dir is None and args.no_recorder and args.no_overlay


def test_namespace_moves_the_rviz_topics_into_it(tmp_path):
    shipped = SHARE / 'config' / 'tsjnet.rviz'
    assert rviz_config(shipped, '') == shipped
    config = yaml.safe_load(rviz_config(shipped, 'robot1', tmp_path).read_text())
    topics = {d['Topic']['Value'] for d in config['Visualization Manager']['Displays']}
    assert topics == {
        '/robot1/fused/image_color',
        '/robot1/debug/overlay',
        '/robot1/segmentation/color',
    }
    specs = by_executable(plan(rviz='true', find=with_rviz, namespace='robot1'))
    rviz = specs['rviz2']
    assert rviz.namespace == 'robot1' and Path(rviz.arguments[1]).read_text() == yaml.safe_dump(
        config, sort_keys=False
    )


def test_every_argument_has_a_default_and_a_description():
    defaults = default_values(SHARE)
    assert set(defaults) == set(ARGUMENTS)
    assert all(isinstance(defaults[name], str) and text for name, (_, text) in ARGUMENTS.items())
