"""The faithful ``tsjnet`` has the authors' layer sizes (official state-dict layout)."""

import math
from collections import Counter
from pathlib import Path

import pytest

from tsjnet_ros.core.model import create_model

REFERENCE = (
    Path(__file__).resolve().parents[1]
    / '..'
    / 'shared'
    / 'reference'
    / 'tsjnet_official_state_dict.tsv'
)
# Authors' reported size; we require the exact layout to land within 0.5 %.
PAPER_PARAMS = 45.1e6
TOLERANCE = 0.005


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.fixture(scope='module')
def model():
    return create_model('tsjnet')


def test_parameter_count_is_close_to_the_authors_45_1_million(model):
    total = _count(model)
    assert abs(total - PAPER_PARAMS) / PAPER_PARAMS < TOLERANCE, total


def _official_counts() -> Counter:
    counts: Counter = Counter()
    for line in REFERENCE.read_text().splitlines():
        if line.startswith('#') or not line.strip():
            continue
        group, key, shape, _ = line.split('\t')
        if 'running_' in key or 'num_batches_tracked' in key:
            continue  # buffers, not parameters
        dims = tuple(int(d) for d in shape.strip('()').split(',') if d.strip())
        counts[group] += math.prod(dims)
        counts[f'{group}.{key.split(".")[0]}'] += math.prod(dims)
    return counts


@pytest.mark.skipif(
    not REFERENCE.is_file(), reason=f'official state-dict layout not found at {REFERENCE}'
)
def test_each_part_matches_the_official_checkpoint_layout(model):
    official = _official_counts()
    enc = model.encoder
    assert _count(enc) == official['DIDF_Encoder']
    assert _count(enc.base_branch) == official['DIDF_Encoder.baseFeature']
    assert _count(enc.detail_branch) == official['DIDF_Encoder.detailFeature']
    assert (
        _count(enc.stem) + _count(enc.body)
        == official['DIDF_Encoder.ResNest'] + official['DIDF_Encoder.patch_embed']
    )
    assert _count(model.base_fusion) == official['BaseFuseLayer']
    assert _count(model.detail_fusion) == official['DetailFuseLayer']
    assert _count(model.decoder) == official['DIDF_Decoder']
    assert _count(model) == sum(
        official[g] for g in ('DIDF_Encoder', 'DIDF_Decoder', 'BaseFuseLayer', 'DetailFuseLayer')
    )


def test_without_relative_position_bias_only_the_rpb_tables_go():
    with_rpb = _count(create_model('tsjnet'))
    without = _count(create_model('tsjnet', nat_rel_pos_bias=False))
    # 18 NA layers in each of the two NAT-minis (encoder base branch, base fusion),
    # heads x 13 x 13 each.
    rpb = 2 * 13 * 13 * (3 * 2 + 4 * 4 + 6 * 8 + 5 * 16)
    assert with_rpb - without == rpb
