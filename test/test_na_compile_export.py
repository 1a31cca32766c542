"""Neighborhood attention traces as one graph under torch.compile and exports to ONNX."""

import importlib.util

import numpy as np
import pytest
import torch

from tsjnet_ros.core.model.layers import NeighborhoodAttention2d, neighborhood_attention_2d

ONNX_PACKAGES = ('onnx', 'onnxscript', 'onnxruntime')
MISSING_ONNX = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]


def test_compiled_forward_and_backward_match_eager():
    def attend(query, key, value, rpb):
        return neighborhood_attention_2d(query, key, value, 5, 1, rpb=rpb, backend='torch')

    gen = torch.Generator().manual_seed(0)
    leaves = [torch.randn(2, 11, 13, 2, 4, generator=gen) for _ in range(3)]
    leaves.append(torch.randn(2, 9, 9, generator=gen))
    # fullgraph=True fails on any graph break; aot_eager also traces the backward graph.
    compiled = torch.compile(attend, backend='aot_eager', fullgraph=True)
    results = []
    for fn in (attend, compiled):
        inputs = [t.clone().requires_grad_() for t in leaves]
        out = fn(*inputs)
        out.square().sum().backward()
        results.append([out.detach()] + [t.grad for t in inputs])
    for eager, traced in zip(*results):
        torch.testing.assert_close(traced, eager, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(bool(MISSING_ONNX), reason=f'ONNX export needs {MISSING_ONNX}')
def test_onnx_export_runs_in_onnxruntime(tmp_path):
    import onnxruntime

    torch.manual_seed(0)
    layer = NeighborhoodAttention2d(8, 2, kernel_size=3, dilation=2, rel_pos_bias=True)
    layer = layer.eval()
    x = torch.randn(1, 9, 10, 8)
    path = tmp_path / 'na.onnx'
    torch.onnx.export(layer, (x,), str(path), dynamo=True, verbose=False)
    session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
    (onnx_out,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        expected = layer(x).numpy()
    np.testing.assert_allclose(onnx_out, expected, rtol=0, atol=1e-5)
