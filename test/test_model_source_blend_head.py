"""SourceBlendImageHead: per-pixel blend of the full-size sources plus a bounded correction."""

import pytest
import torch

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.blocks.image_heads import SourceBlendImageHead


def _head(max_correction=0.5):
    torch.manual_seed(0)
    return SourceBlendImageHead(
        in_chs=8, skip_chs=4, refine=False, max_correction=max_correction
    ).eval()


def _inputs(batch=1, h=6, w=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 8, h, w, generator=gen)
    skip = torch.randn(batch, 4, 2 * h, 2 * w, generator=gen)
    a = torch.rand(batch, 1, 4 * h, 4 * w, generator=gen)
    b = torch.rand(batch, 1, 4 * h, 4 * w, generator=gen)
    return x, skip, a, b


def test_new_head_starts_as_average_fusion():
    x, skip, a, b = _inputs()
    with torch.no_grad():
        out = _head()(x, skip, (a, b))
    assert out.shape == a.shape
    assert torch.allclose(out, (a + b) / 2, atol=1e-7)


@pytest.mark.parametrize(
    'logit, expect',
    [
        (20.0, lambda a, b: a + 0.25),  # weight 1 (source a), correction +max
        (-20.0, lambda a, b: b - 0.25),  # weight 0 (source b), correction -max
    ],
)
def test_output_is_the_weighted_blend_plus_the_bounded_correction(logit, expect):
    head = _head(max_correction=0.25)
    with torch.no_grad():
        head.to_image[0].bias.fill_(logit)  # saturates both the weight and the correction
    x, skip, a, b = _inputs(seed=1)
    a, b = a * 0.5, b * 0.5 + 0.5  # keep the result inside [0, 1], away from the clamp
    with torch.no_grad():
        out = head(x, skip, (a, b))
    assert torch.allclose(out, expect(a, b), atol=1e-6)


def test_output_is_clamped_to_the_unit_range():
    head = _head(max_correction=1.0)
    with torch.no_grad():
        head.to_image[0].bias.fill_(20.0)  # weight 1, correction +1
    x, skip, a, b = _inputs(seed=2)
    with torch.no_grad():
        out = head(x, skip, (a, b))
    assert out.max() == 1.0 and out.min() >= 0.0


def test_source_detail_finer_than_the_features_reaches_the_output():
    # A one-pixel checkerboard in a source survives: the head never resamples the sources.
    x, skip, _, _ = _inputs(h=4, w=4)
    checker = ((torch.arange(16)[:, None] + torch.arange(16)[None, :]) % 2).float()[None, None]
    with torch.no_grad():
        out = _head()(x, skip, (checker, torch.zeros_like(checker)))
    assert torch.allclose(out, checker / 2)


def test_missing_sources_or_wrong_sizes_raise_clear_errors():
    x, skip, a, b = _inputs()
    head = _head()
    with pytest.raises(ValueError, match='needs the full-size source images'):
        head(x, skip)
    with pytest.raises(ValueError, match="needs the encoder's half-resolution skip"):
        head(x, None, (a, b))
    with pytest.raises(ValueError, match='does not match sources'):
        head(x, skip, (a[..., :-4, :], b[..., :-4, :]))
    with pytest.raises(ValueError, match='max_correction'):
        SourceBlendImageHead(8, 4, max_correction=1.5)


def test_tsjnet_rt_with_the_blend_head_fuses_any_size_and_trains():
    torch.manual_seed(0)
    model = create_model('tsjnet_rt', image_head='source_blend').train()
    gen = torch.Generator().manual_seed(3)
    ir, vis = torch.rand(2, 1, 37, 53, generator=gen), torch.rand(2, 1, 37, 53, generator=gen)
    out = model(ir, vis, reconstruct=True)
    assert out.fused.shape == ir.shape and out.ir_reconstruction.shape == ir.shape
    # Reconstructions blend a source with itself, so they start exactly at that source.
    assert torch.allclose(out.ir_reconstruction, ir, atol=1e-6)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    target = torch.maximum(ir, vis)
    losses = []
    for _ in range(5):
        optimizer.zero_grad()
        loss = (model(ir, vis).fused - target).abs().mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]


def test_unknown_image_head_is_refused():
    with pytest.raises(ValueError, match='image_head must be one of'):
        create_model('tsjnet_rt', image_head='bilinear')
