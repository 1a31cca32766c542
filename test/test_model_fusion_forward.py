"""FusionNet forward contract: any input size, [0, 1] output, maps, reconstructions, errors."""

import pytest
import torch
from small_models import SMALL_TSJNET

from tsjnet_ros.core.model import FusionOutput, create_model


@pytest.fixture(scope='module')
def rt():
    torch.manual_seed(0)
    return create_model('tsjnet_rt').eval()


def _pair(batch, height, width, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(batch, 1, height, width, generator=gen), torch.rand(
        batch, 1, height, width, generator=gen
    )


@pytest.mark.parametrize('size', [(64, 96), (37, 53), (16, 16)])
def test_rt_accepts_any_size_and_returns_the_input_size(rt, size):
    ir, vis = _pair(2, *size)
    with torch.no_grad():
        out = rt(ir, vis)
    assert isinstance(out, FusionOutput)
    assert out.fused.shape == (2, 1, *size)
    assert out.fused.min() >= 0 and out.fused.max() <= 1
    assert out.ir_reconstruction is None and out.visible_reconstruction is None
    # Decoder maps at 1/4 size, covering the real (unpadded) pixels.
    assert out.attention_maps.shape == (2, 8, -(-size[0] // 4), -(-size[1] // 4))
    assert ((out.attention_maps > 0) & (out.attention_maps < 1)).all()


def test_rt_reconstructions_on_request(rt):
    ir, vis = _pair(1, 40, 56)
    with torch.no_grad():
        out = rt(ir, vis, reconstruct=True)
    assert (
        out.ir_reconstruction.shape == ir.shape and out.visible_reconstruction.shape == vis.shape
    )
    assert not torch.equal(out.ir_reconstruction, out.visible_reconstruction)


def test_rt_padding_never_resizes_the_image(rt):
    # A pixel far from the padded border only depends on its neighbourhood through the
    # convs, not on a global resize: fusing a crop must not shift the image content.
    ir, vis = _pair(1, 64, 64, seed=3)
    with torch.no_grad():
        full = rt(ir, vis).fused
        cropped = rt(ir[..., :50, :], vis[..., :50, :]).fused
    assert cropped.shape[-2:] == (50, 64)
    assert torch.allclose(full[..., :16, :], cropped[..., :16, :], atol=0.05)


def test_rt_batch_items_are_independent(rt):
    ir, vis = _pair(2, 32, 48, seed=5)
    with torch.no_grad():
        both = rt(ir, vis).fused
        first = rt(ir[:1], vis[:1]).fused
    torch.testing.assert_close(both[:1], first, atol=1e-5, rtol=1e-4)


def test_small_tsjnet_forward_backward_and_maps_at_full_resolution():
    torch.manual_seed(1)
    model = create_model('tsjnet', **SMALL_TSJNET)
    ir, vis = _pair(2, 40, 72)  # batch 2: the authors' batch-norm attention MLP needs it
    out = model(ir, vis, reconstruct=True)
    assert out.fused.shape == (2, 1, 40, 72)
    assert out.attention_maps.shape == (2, 4, 40, 72)
    loss = (
        out.fused.mean()
        + out.attention_maps.mean()
        + out.ir_reconstruction.mean()
        + out.visible_reconstruction.mean()
    )
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert sum(int(g.abs().sum() > 0) for g in grads) > 0.9 * len(grads)


def test_fused_image_depends_on_both_inputs(rt):
    ir, vis = _pair(1, 32, 32, seed=7)
    with torch.no_grad():
        base = rt(ir, vis).fused
        assert not torch.allclose(base, rt(torch.zeros_like(ir), vis).fused)
        assert not torch.allclose(base, rt(ir, torch.zeros_like(vis)).fused)


@pytest.mark.parametrize(
    'ir, vis, error, message',
    [
        (torch.rand(1, 3, 16, 16), torch.rand(1, 3, 16, 16), ValueError, r'\(B, 1, H, W\)'),
        (torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 20), ValueError, 'same shape'),
        (torch.rand(16, 16), torch.rand(16, 16), ValueError, r'\(B, 1, H, W\)'),
        (
            torch.zeros(1, 1, 16, 16, dtype=torch.uint8),
            torch.zeros(1, 1, 16, 16, dtype=torch.uint8),
            TypeError,
            'floating',
        ),
        ('ir.png', torch.rand(1, 1, 16, 16), TypeError, 'torch.Tensor'),
    ],
)
def test_bad_inputs_raise_clear_errors(rt, ir, vis, error, message):
    with pytest.raises(error, match=message):
        rt(ir, vis)
