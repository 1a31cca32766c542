"""Checkpoint round trip and clear failures on mismatched or foreign files."""

from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from tsjnet_ros.core.model.checkpoint import (
    Normalization,
    build_system,
    checkpoint_info,
    create_untrained_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from tsjnet_ros.core.model.heads import HEADS_PRESETS
from tsjnet_ros.core.model.heads.config import HeadsConfig


class TinyFusion(nn.Module):
    """Stand-in fusion net whose size depends on its config (to provoke mismatches)."""

    def __init__(self, width: int = 4):
        super().__init__()
        self.body = nn.Conv2d(2, width, 3, padding=1)
        self.out = nn.Conv2d(width, 1, 1)
        self.att = nn.Conv2d(width, 2, 1)

    def forward(self, ir, visible):
        h = torch.relu(self.body(torch.cat([ir, visible], dim=1)))
        return SimpleNamespace(
            fused=torch.sigmoid(self.out(h)),
            attention_maps=torch.sigmoid(self.att(h)),
            ir_reconstruction=None,
            visible_reconstruction=None,
        )


def tiny_builder(variant, config):
    if variant not in ('tiny', 'tiny_other'):
        raise ValueError(f'unknown fusion variant {variant!r}')
    return TinyFusion(**config)


def make_system(seed=0, variant='tiny', config=None, heads=None):
    return build_system(
        variant,
        config or {'width': 4},
        heads or HEADS_PRESETS['light'],
        seed=seed,
        fusion_builder=tiny_builder,
    )


def test_seeded_build_is_reproducible_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    before = torch.rand(1)
    torch.manual_seed(123)
    a = make_system(seed=7)
    after = torch.rand(1)
    b = make_system(seed=7)
    c = make_system(seed=8)
    assert torch.equal(before, after)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    assert not torch.equal(a.fusion.body.weight, c.fusion.body.weight)


def test_round_trip_restores_weights_configs_and_outputs(tmp_path):
    system = make_system().eval()
    norm = Normalization(
        ir_16bit_mode='fixed', ir_16bit_range=(1000, 9000), inference_size=(64, 96)
    )
    path = save_checkpoint(system, tmp_path / 'sub' / 'model.pt', norm, metadata={'epoch': 3})
    loaded = load_checkpoint(path, fusion_builder=tiny_builder)
    assert loaded.normalization == norm
    assert loaded.metadata['epoch'] == 3 and 'created' in loaded.metadata
    assert loaded.system.variant == 'tiny' and loaded.system.fusion_config == {'width': 4}
    assert list(loaded.system.detection_classes) == ['person', 'bicycle', 'car']
    ir, vis = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64)
    with torch.no_grad():
        want, got = system(ir, vis), loaded.system(ir, vis)
    assert torch.equal(want.fused, got.fused)
    assert torch.equal(want.segmentation_logits, got.segmentation_logits)
    info = checkpoint_info(path)
    assert info['variant'] == 'tiny' and 'state_dict' not in info and info['num_parameters'] > 1e5
    assert not list(tmp_path.glob('**/*.partial'))


def test_variant_and_class_expectations_are_checked(tmp_path):
    path = save_checkpoint(make_system(), tmp_path / 'm.pt')
    with pytest.raises(ValueError, match="holds variant 'tiny', but 'tsjnet_rt' was requested"):
        load_checkpoint(path, fusion_builder=tiny_builder, expected_variant='tsjnet_rt')
    with pytest.raises(ValueError, match='detection classes'):
        load_checkpoint(path, fusion_builder=tiny_builder, expected_detection_classes=['person'])


def test_weights_that_do_not_fit_name_the_mismatch(tmp_path):
    path = tmp_path / 'm.pt'
    save_checkpoint(make_system(), path)
    payload = torch.load(path, weights_only=True)
    payload['fusion_config'] = {'width': 6}  # stored weights were made with width 4
    torch.save(payload, path)
    with pytest.raises(
        ValueError,
        match=r'shape mismatch.*fusion\.body\.weight: checkpoint \(4, 2, 3, '
        r'3\) vs model \(6, 2, 3, 3\)',
    ):
        load_checkpoint(path, fusion_builder=tiny_builder)

    payload['fusion_config'] = {'width': 4}
    del payload['state_dict']['fusion.att.bias']
    payload['state_dict']['fusion.extra'] = torch.zeros(1)
    torch.save(payload, path)
    with pytest.raises(
        ValueError,
        match=r'1 missing weight\(s\) \[fusion\.att\.bias\]; 1 unexpected '
        r'weight\(s\) \[fusion\.extra\]',
    ):
        load_checkpoint(path, fusion_builder=tiny_builder)


def test_head_class_count_mismatch_is_reported(tmp_path):
    path = tmp_path / 'm.pt'
    save_checkpoint(make_system(), path)
    payload = torch.load(path, weights_only=True)
    six = ['People', 'Car', 'Bus', 'Motorcycle', 'Lamp', 'Truck']
    payload['heads_config']['detection_classes'] = six
    payload['detection_classes'] = six
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r'heads\.detection\.cls_out\.weight: checkpoint \(3, '):
        load_checkpoint(path, fusion_builder=tiny_builder)
    payload['detection_classes'] = ['person']
    torch.save(payload, path)
    with pytest.raises(ValueError, match='inconsistent: detection_classes'):
        load_checkpoint(path, fusion_builder=tiny_builder)


def test_foreign_missing_and_unknown_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='checkpoint not found'):
        load_checkpoint(tmp_path / 'nope.pt')
    raw = tmp_path / 'raw.pt'
    torch.save({'DIDF_Encoder': {}}, raw)
    with pytest.raises(ValueError, match='not a tsjnet_ros checkpoint'):
        load_checkpoint(raw)
    text = tmp_path / 'text.pt'
    text.write_text('hello')
    with pytest.raises(ValueError, match='not a readable checkpoint'):
        load_checkpoint(text)
    path = save_checkpoint(make_system(), tmp_path / 'm.pt')
    payload = torch.load(path, weights_only=True)
    payload['format_version'] = 99
    torch.save(payload, path)
    with pytest.raises(ValueError, match='format version 99'):
        load_checkpoint(path, fusion_builder=tiny_builder)
    payload['format_version'] = 1
    payload['variant'] = 'mystery'
    torch.save(payload, path)
    with pytest.raises(ValueError, match="unknown fusion variant 'mystery'"):
        load_checkpoint(path, fusion_builder=tiny_builder)


def test_normalization_validation():
    with pytest.raises(ValueError, match="'fixed' or 'percentile'"):
        Normalization(ir_16bit_mode='auto')
    with pytest.raises(ValueError, match='inference_size'):
        Normalization(inference_size=(8, 640))
    with pytest.raises(ValueError, match='unknown normalization keys'):
        Normalization.from_dict({'ir_mode': 'fixed'})


def test_untrained_checkpoints_are_reproducible(tmp_path):
    a = create_untrained_checkpoint(
        tmp_path / 'a.pt', 'tiny', seed=3, fusion_config={'width': 4}, fusion_builder=tiny_builder
    )
    b = create_untrained_checkpoint(
        tmp_path / 'b.pt', 'tiny', seed=3, fusion_config={'width': 4}, fusion_builder=tiny_builder
    )
    sa = torch.load(a, weights_only=True)
    sb = torch.load(b, weights_only=True)
    assert sa['metadata']['trained'] is False and sa['metadata']['seed'] == 3
    assert sa['state_dict'].keys() == sb['state_dict'].keys()
    assert all(torch.equal(sa['state_dict'][k], sb['state_dict'][k]) for k in sa['state_dict'])


def test_registry_variant_round_trip_stores_the_full_config(tmp_path):
    path = create_untrained_checkpoint(tmp_path / 'rt.pt', 'tsjnet_rt', seed=1)
    info = checkpoint_info(path)
    assert info['variant'] == 'tsjnet_rt'
    assert (
        info['fusion_config']['encoder_chs'] > 0 and 'nat_heads' in info['fusion_config']
    )  # every field
    assert info['heads_config']['backbone'] == 'mobilenetv3_large_075'
    loaded = load_checkpoint(path, expected_variant='tsjnet_rt')
    ir, vis = torch.rand(1, 1, 64, 96), torch.rand(1, 1, 64, 96)
    fresh = build_system('tsjnet_rt', seed=1).eval()
    with torch.no_grad():
        assert torch.equal(fresh(ir, vis).fused, loaded.system(ir, vis).fused)

    payload = torch.load(path, weights_only=True)
    payload['fusion_config']['encoder_chs'] *= 2
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"does not fit variant 'tsjnet_rt'.*shape mismatch"):
        load_checkpoint(path)
    payload['fusion_config']['no_such_field'] = 1
    torch.save(payload, path)
    with pytest.raises(
        ValueError, match="cannot rebuild fusion variant 'tsjnet_rt'.*no_such_field"
    ):
        load_checkpoint(path)


@pytest.mark.parametrize(
    'stored, groups', [('group', {48: 1, 64: 32}), ('groupnorm', {48: 8, 64: 8})]
)
def test_heads_norm_names_keep_their_group_count_through_a_checkpoint(tmp_path, stored, groups):
    # Files written before the one norm table name the heads' 32-group norm "group".
    system = build_system(
        'tiny',
        {'width': 4},
        replace(HEADS_PRESETS['light'], norm='groupnorm32'),
        seed=0,
        fusion_builder=tiny_builder,
    ).eval()
    path = save_checkpoint(system, tmp_path / 'model.pt')
    payload = torch.load(path, weights_only=True)
    payload['heads_config']['norm'] = stored
    torch.save(payload, path)
    loaded = load_checkpoint(path, fusion_builder=tiny_builder).system
    assert loaded.heads_config.norm == ('groupnorm32' if stored == 'group' else 'groupnorm')
    found = {
        m.num_channels: m.num_groups for m in loaded.heads.modules() if isinstance(m, nn.GroupNorm)
    }
    assert {c: found[c] for c in groups} == groups
    if stored == 'group':  # the same function as the model that was saved
        ir, vis = torch.rand(1, 1, 64, 64), torch.rand(1, 1, 64, 64)
        with torch.no_grad():
            assert torch.equal(
                system(ir, vis).segmentation_logits, loaded(ir, vis).segmentation_logits
            )


def test_heads_norm_name_from_the_old_batch_norm_table():
    assert (
        HeadsConfig.from_dict({**HEADS_PRESETS['light'].to_dict(), 'norm': 'batch'}).norm
        == 'batchnorm2d'
    )
    with pytest.raises(ValueError, match='norm must be one of'):
        HeadsConfig(norm='group8')
