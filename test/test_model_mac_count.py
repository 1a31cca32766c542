"""MAC counting (FlopCounterMode + analytic neighborhood attention) and the tsjnet_rt budget."""

import torch
from torch import nn

from tsjnet_ros.core.model import create_model
from tsjnet_ros.core.model.layers import NeighborhoodAttention2d
from tsjnet_ros.core.model.mac_count import count_macs, neighborhood_attention_macs

# tsjnet_rt budget: 5 GMAC per 480x640 pair for fusion + both task heads; the fusion
# network's share is 3 GMAC.
FUSION_BUDGET_GMAC = 3.0


def test_conv_macs_match_the_textbook_formula():
    conv = nn.Conv2d(8, 16, 3, padding=1)
    report = count_macs(conv, torch.zeros(2, 8, 10, 12))
    assert report.total == 2 * 10 * 12 * 16 * 8 * 9
    assert report.attention == 0


class _NAWrapper(nn.Module):
    def __init__(self):
        super().__init__()
        self.na = NeighborhoodAttention2d(16, 2, kernel_size=5)
        self.linear = nn.Linear(16, 4)

    def forward(self, x):
        return self.linear(self.na(x))


def test_neighborhood_attention_is_counted_analytically_once():
    model = _NAWrapper().eval()
    report = count_macs(model, torch.zeros(1, 9, 11, 16))
    tokens = 9 * 11
    expected_na = tokens * (3 * 16 * 16 + 2 * 25 * 16 + 16 * 16)
    assert report.attention == expected_na == neighborhood_attention_macs(model.na, 1, 9, 11)
    assert report.counted == tokens * 16 * 4  # only the outer linear
    assert report.total == expected_na + tokens * 16 * 4
    assert report.per_module == {'na': expected_na, 'linear': tokens * 16 * 4}


def test_small_maps_count_the_padded_window():
    na = NeighborhoodAttention2d(8, 1, kernel_size=7)
    padded = 7 * 7 * (3 * 64 + 2 * 49 * 8)
    assert neighborhood_attention_macs(na, 1, 3, 4) == padded + 12 * 64


def test_tsjnet_rt_fusion_fits_its_mac_budget_at_480x640():
    model = create_model('tsjnet_rt').eval()
    frame = torch.rand(1, 1, 480, 640)
    report = count_macs(model, frame, frame)
    assert report.attention > 0 and report.counted > 0
    assert sum(report.per_module.values()) == report.total
    assert report.gmac <= FUSION_BUDGET_GMAC, report
