"""The authors' TSJNet file: recognised and converted on load.

Also: clear errors, fusion-only pipeline, ``tsjnet-convert``, and the authors' inference
conventions as an option.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import pytest
import torch

from tsjnet_ros.core.model.checkpoint import (
    Normalization,
    checkpoint_info,
    load_checkpoint,
    read_checkpoint,
)
from tsjnet_ros.core.model.official_checkpoint import seeded_official_weights
from tsjnet_ros.core.runtime.pipeline import FusionPipeline
from tsjnet_ros.resources import default_checkpoint
from tsjnet_ros.tools import convert


@pytest.fixture(scope='module')
def weights():
    return seeded_official_weights(seed=3)


@pytest.fixture(scope='module')
def authors_file(tmp_path_factory, weights):
    path = tmp_path_factory.mktemp('authors') / 'TSJNet.pth'
    torch.save(weights, path)
    return path


@pytest.fixture(scope='module')
def loaded(authors_file):
    return load_checkpoint(authors_file)


def _pair(height=64, width=96, seed=0):
    rng = np.random.default_rng(seed)
    ir = rng.integers(0, 256, (height, width), dtype=np.uint8)
    visible = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    return ir, visible


def test_authors_file_loads_as_fusion_only_official_variant(loaded):
    system = loaded.system
    assert system.variant == 'tsjnet_official' and system.heads is None
    assert system.detection_classes == () and system.segmentation_classes == ()
    assert system.fusion_config['nat_rel_pos_bias'] is True
    assert (
        loaded.metadata['dropped_never_called'] == 44 and loaded.normalization == Normalization()
    )
    ir = torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        out = system(ir, torch.rand(1, 1, 64, 64))
    assert (
        out.fused.shape == (1, 1, 64, 64)
        and out.segmentation_logits is None
        and out.detection is None
    )


def test_our_reader_names_the_authors_file(authors_file):
    with pytest.raises(ValueError, match="authors' TSJNet checkpoint.*tsjnet-convert"):
        read_checkpoint(authors_file)


@pytest.mark.parametrize(
    'edit, message',
    [
        (
            lambda w: w['DIDF_Decoder'].pop('reduce_channel.weight'),
            r'1 missing weight\(s\) \[DIDF_Decoder.reduce_channel.weight\]',
        ),
        (
            lambda w: w['DetailFuseLayer'].__setitem__('extra.weight', torch.zeros(1)),
            r'1 unexpected weight\(s\) \[DetailFuseLayer.extra.weight\]',
        ),
        (
            lambda w: w['BaseFuseLayer'].__setitem__('attn.conv1.0.bias', torch.zeros(3)),
            r'shape mismatch.*BaseFuseLayer.attn.conv1.0.bias: '
            r'checkpoint \(3,\) vs model \(128,\)',
        ),
        (
            lambda w: w['BaseFuseLayer'].pop('attn.levels.0.blocks.0.attn.rpb'),
            r'missing weight\(s\) \[BaseFuseLayer.attn.levels.0.blocks.0.attn.rpb\]',
        ),
    ],
)
def test_damaged_authors_file_fails_naming_the_keys(tmp_path, weights, edit, message):
    damaged = {group: dict(state) for group, state in weights.items()}
    edit(damaged)
    path = tmp_path / 'damaged.pth'
    torch.save(damaged, path)
    with pytest.raises(ValueError, match=message):
        load_checkpoint(path)


def test_pipeline_on_the_authors_file_is_fusion_only_with_one_log_line(authors_file, caplog):
    with caplog.at_level(logging.INFO, logger='tsjnet_ros'):
        pipeline = FusionPipeline.from_checkpoint(authors_file, device='cpu', warmup=False)
    lines = [r.getMessage() for r in caplog.records if 'fusion-only' in r.getMessage()]
    assert len(lines) == 1 and 'detections and segmentation are off' in lines[0]
    assert pipeline.variant == 'tsjnet_official' and pipeline.class_names == []
    result = pipeline.process(*_pair())
    assert result.fused.shape == (64, 96) and result.fused_color.shape == (64, 96, 3)
    assert result.detections == [] and result.segmentation is None


def test_convert_writes_our_format_and_loads_to_the_same_function(
    tmp_path, authors_file, loaded, capsys
):
    out = tmp_path / 'official.pt'
    assert convert.main([str(authors_file), str(out)]) == 0
    assert 'fusion only' in capsys.readouterr().out
    info = checkpoint_info(out)
    assert info['variant'] == 'tsjnet_official' and info['heads_config'] is None
    assert info['detection_classes'] == [] and info['segmentation_classes'] == []
    assert info['normalization']['convention'] == 'stable'
    again = load_checkpoint(out).system
    ir, visible = torch.rand(2, 1, 1, 64, 64).unbind(0)
    with torch.no_grad():
        assert torch.equal(again(ir, visible).fused, loaded.system(ir, visible).fused)
    assert convert.main([str(authors_file), str(out)]) == 2  # no silent overwrite


def test_convert_with_heads_from_our_checkpoint(tmp_path, authors_file):
    out = tmp_path / 'with_heads.pt'
    assert (
        convert.main(
            [
                str(authors_file),
                str(out),
                '--heads-from',
                str(default_checkpoint()),
                '--authors-conventions',
            ]
        )
        == 0
    )
    info = checkpoint_info(out)
    shipped = checkpoint_info(default_checkpoint())
    assert info['detection_classes'] == shipped['detection_classes']
    assert info['normalization']['convention'] == 'authors' and info['normalization'][
        'inference_size'
    ] == [512, 512]
    system = load_checkpoint(out).system
    donor = load_checkpoint(default_checkpoint()).system
    for key, value in donor.heads.state_dict().items():
        assert torch.equal(
            system.heads.state_dict()[key], value.to(system.heads.state_dict()[key].dtype)
        )


def test_convert_rejects_other_files(tmp_path, capsys):
    assert convert.main([str(default_checkpoint()), str(tmp_path / 'x.pt')]) == 1
    assert "not the authors' TSJNet checkpoint" in capsys.readouterr().err


def test_authors_conventions_follow_their_inference_script(loaded):
    """The authors' conventions follow their ``inference.py`` and ``image_read_cv2``.

    Rounded grayscale visible, bilinear resize to the network size, min-max of each fused
    frame, bilinear resize back, truncation, at a small network size to keep the test fast.
    """
    size = (64, 64)
    pipeline = FusionPipeline(
        loaded.system,
        Normalization.authors(inference_size=size),
        device='cpu',
        warmup=False,
        optimize=False,
    )
    ir, visible = _pair(48, 80, seed=1)
    result = pipeline.process(ir, visible)

    def read_gray(rgb):  # their image_read_cv2(mode='GRAY') on the same pixels
        gray = np.round(cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2GRAY))
        return cv2.resize(gray, size[::-1])[None, None] / 255.0

    ir_in = torch.from_numpy(read_gray(np.repeat(ir[..., None], 3, axis=2))).float()
    vis_in = torch.from_numpy(read_gray(visible)).float()
    with torch.no_grad():
        fused = loaded.system.fusion(ir_in, vis_in).fused
    fused = (fused - fused.min()) / (fused.max() - fused.min())
    expected = cv2.resize(np.squeeze((fused * 255).numpy()), (80, 48)).astype(np.uint8)
    assert np.abs(result.fused.astype(int) - expected.astype(int)).max() <= 1
    assert int(result.fused.max()) - int(result.fused.min()) >= 200  # stretched to the full range

    stable = FusionPipeline(
        loaded.system,
        Normalization(inference_size=size),
        device='cpu',
        warmup=False,
        optimize=False,
    ).process(ir, visible)
    assert (
        int(stable.fused.max()) - int(stable.fused.min()) < 100
    )  # no stretch: the sigmoid output as it is


def test_unknown_convention_is_rejected():
    with pytest.raises(ValueError, match='convention must be one of'):
        Normalization(convention='vivid')


@pytest.mark.parametrize(
    'content,reason',
    [
        (b'', 'the file is empty or truncated'),
        (b'hello, not a checkpoint\n', 'not a PyTorch file'),
        (b'# README\n\nSome text.\n' * 20, 'not a PyTorch file'),
    ],
)
def test_convert_names_a_file_that_is_not_a_checkpoint(tmp_path, capsys, content, reason):
    source = tmp_path / 'TSJNet.pth'
    source.write_bytes(content)
    assert convert.main([str(source), str(tmp_path / 'out.pt')]) == 1
    err = capsys.readouterr().err
    assert (
        err.startswith(f'tsjnet-convert: {source} is not a readable checkpoint') and reason in err
    )
    assert not (tmp_path / 'out.pt').exists()
