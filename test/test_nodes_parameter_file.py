"""A parameter file's mistakes end a node or tool with one line, not a traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import REPO_ROOT
from rclpy.parameter import Parameter
from ros_harness import RosGraph, spy_on_log

from tsjnet_ros.nodes.declared_parameters import ParameterFileError, warn_undeclared
from tsjnet_ros.nodes.fusion_node import FusionNode
from tsjnet_ros.nodes.synthetic_cameras import SyntheticCamerasNode


@pytest.fixture
def graph():
    graph = RosGraph()
    yield graph
    graph.close()


def fusion_node(graph, **params):
    overrides = [Parameter('fusion_backend', value='average')]
    overrides += [Parameter(k, value=v) for k, v in params.items()]
    return graph.add(FusionNode(context=graph.context, parameter_overrides=overrides))


def test_integers_are_taken_for_float_parameters(graph):
    node = fusion_node(graph, ir_range=[0, 255], slop=1)
    ir_range, slop = node.get_parameter('ir_range'), node.get_parameter('slop')
    assert ir_range.type_ == Parameter.Type.DOUBLE_ARRAY and list(ir_range.value) == [0.0, 255.0]
    assert slop.type_ == Parameter.Type.DOUBLE and slop.value == 1.0
    assert node.state == 'active'


@pytest.mark.parametrize(
    'params,words',
    [
        ({'queue_size': 10.0}, ('parameter queue_size = 10.0 (double) must be an integer',)),
        ({'slop': 5.0}, ('parameter slop = 5.0 is refused', 'out of range', 'Max: 1.0')),
        ({'fusion_backend': 3}, ('parameter fusion_backend = 3 (integer) must be a string',)),
    ],
)
def test_a_refused_parameter_names_node_parameter_value_and_rule(graph, params, words):
    with pytest.raises(ParameterFileError) as caught:
        fusion_node(graph, **params)
    message = str(caught.value)
    assert message.startswith('fusion_node: ') and all(w in message for w in words), message


@pytest.mark.parametrize(
    'name,value,message',
    [
        ('width', 8, 'synthetic_cameras: .*at least 32x32'),
        ('jitter', -1.0, 'synthetic_cameras: parameter jitter = -1.0 is refused'),
        ('num_targets', -2, 'synthetic_cameras: parameter num_targets = -2 is refused'),
    ],
)
def test_synthetic_cameras_refuse_unusable_values(graph, name, value, message):
    with pytest.raises(ParameterFileError, match=message):
        SyntheticCamerasNode(
            context=graph.context, parameter_overrides=[Parameter(name, value=value)]
        )


def run(*args):
    return subprocess.run(
        [sys.executable, '-m', *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def test_node_executable_ends_with_one_line_and_code_2():
    proc = run('tsjnet_ros.nodes.fusion_node', '--ros-args', '-p', 'queue_size:=10.0')
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert 'fusion_node: parameter queue_size = 10.0 (double) must be an integer' in proc.stderr


def test_graph_tool_names_an_unparsable_parameter_file(tmp_path):
    params = tmp_path / 'broken.yaml'
    params.write_text('fusion_node:\n  ros__parameters:\n    slop: [1,\n')
    proc = run('tsjnet_ros.tools.graph', '--params', str(params), '--duration', '1', '--quiet')
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr
    assert f'{params}: cannot read the parameter file' in proc.stderr


def test_graph_tool_names_a_refused_value(tmp_path):
    params = tmp_path / 'slop.yaml'
    params.write_text(
        'fusion_node:\n  ros__parameters:\n    fusion_backend: average\n    slop: 5.0\n'
    )
    proc = run('tsjnet_ros.tools.graph', '--params', str(params), '--duration', '1', '--quiet')
    assert proc.returncode == 2, proc.stderr
    assert 'Traceback' not in proc.stderr and 'AttributeError' not in proc.stderr
    assert 'fusion_node: parameter slop = 5.0 is refused' in proc.stderr


def test_unknown_parameters_and_classes_are_named(graph):
    node = fusion_node(graph, fusion_backend='tsjnet', slopp=0.1, classes=['persn'])
    assert warn_undeclared(node) == ['slopp'] and node.get_parameter('slop').value == 0.05
    log = spy_on_log(node)
    node.set_parameters([Parameter('classes', value=['person', 'bogus'])])
    text = ' '.join(log.lines('warning'))
    assert 'classes lists bogus, which the detector does not know' in text
    assert 'it knows: ' in text and 'person' in text.split('it knows: ')[1]
