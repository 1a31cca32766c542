"""Model registry: variants, configs, overrides, errors, checkpoint-style configs."""

import dataclasses

import pytest
import torch
from torch import nn

from tsjnet_ros.core.model import (
    FusionNet,
    create_model,
    list_models,
    model_config,
    register_model,
    registry,
)


def test_builtin_variants_are_listed():
    names = list_models()
    assert 'tsjnet' in names and 'tsjnet_rt' in names


def test_model_config_gives_the_variant_defaults_and_applies_overrides():
    cfg = model_config('tsjnet')
    assert dataclasses.is_dataclass(cfg)
    assert cfg.nat_depths == (3, 4, 6, 5) and cfg.nat_heads == (2, 4, 8, 16)
    assert model_config('tsjnet_rt', feature_chs=24).feature_chs == 24


def test_create_model_builds_a_fusion_net_with_overrides():
    model = create_model('tsjnet_rt', skip_chs=8, decoder_chs=16, decoder_refine=True)
    assert isinstance(model, FusionNet)
    assert model.decoder.head.refine[0].in_channels == 8
    assert model.decoder.reduce[0].out_channels == 16


def test_config_read_back_from_a_checkpoint_with_lists_equals_the_tuple_config():
    # Checkpoints store plain values; tuples may come back as lists.
    cfg = model_config('tsjnet_rt', nat_depths=[1, 2], nat_heads=[2, 4])
    assert cfg == model_config('tsjnet_rt', nat_depths=(1, 2), nat_heads=(2, 4))
    as_dict = dataclasses.asdict(cfg)
    rebuilt = create_model(
        'tsjnet_rt', **{k: list(v) if isinstance(v, tuple) else v for k, v in as_dict.items()}
    )
    reference = create_model('tsjnet_rt', **as_dict)
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in reference.parameters()]


def test_create_model_with_an_explicit_config_object():
    cfg = model_config('tsjnet_rt', feature_chs=16)
    model = create_model('tsjnet_rt', config=cfg)
    assert model.encoder.neck[0].out_channels == 16
    with pytest.raises(TypeError, match='TsjnetRtConfig'):
        create_model('tsjnet_rt', config=model_config('tsjnet'))


def test_unknown_model_and_unknown_field_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown model 'nope'.*tsjnet"):
        create_model('nope')
    with pytest.raises(TypeError, match='unknown config field.*not_a_field'):
        create_model('tsjnet_rt', not_a_field=3)


@pytest.mark.parametrize(
    'overrides, message',
    [
        ({'nat_depths': (1, 1), 'nat_heads': (2,)}, 'differ in length'),
        ({'dsm_saliency': 'sift'}, 'dsm_saliency'),
        ({'act_layer': 'swishy'}, 'act_layer'),
        ({'feature_chs': 0}, 'feature_chs'),
        ({'na_backend': 'cuda'}, 'na_backend'),
    ],
)
def test_invalid_configs_are_rejected(overrides, message):
    with pytest.raises(ValueError, match=message):
        model_config('tsjnet_rt', **overrides)


def test_register_model_infers_the_config_class_from_the_annotation():
    @dataclasses.dataclass(frozen=True)
    class TinyConfig:
        width: int = 3

    @register_model('test_tiny_identity')
    def tiny(config: TinyConfig) -> nn.Module:
        return nn.Conv2d(1, config.width, 1)

    try:
        assert 'test_tiny_identity' in list_models()
        assert model_config('test_tiny_identity') == TinyConfig()
        assert create_model('test_tiny_identity', width=5)(torch.zeros(1, 1, 2, 2)).shape[1] == 5
        with pytest.raises(TypeError, match='dataclass'):

            @register_model('test_bad_factory')
            def bad(config: int) -> nn.Module:  # noqa: ARG001
                return nn.Identity()
    finally:
        registry._FACTORIES.pop('test_tiny_identity', None)
        registry._CONFIGS.pop('test_tiny_identity', None)
