"""The segmentation and detection heads on one shared backbone, run on the fused image."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.heads.backbone import SharedBackbone
from tsjnet_ros.core.model.heads.config import HeadsConfig
from tsjnet_ros.core.model.heads.detection import AnchorFreeDetector, DetectionHeadOutput
from tsjnet_ros.core.model.heads.segmentation import DeepLabV3PlusHead


@dataclass
class TaskHeadsOutput:
    """Task heads output: segmentation logits and raw detector output.

    ``segmentation_logits``: (B, S, h, w) at a quarter of the head input size (upsample
    to the label or image size); ``detection``: raw detector output, ``scale`` set so
    decoded boxes land in fused-image pixels.
    """

    segmentation_logits: torch.Tensor
    detection: DetectionHeadOutput


class TaskHeads(nn.Module):
    """Shared backbone + DeepLabV3+ segmentation + anchor-free detection."""

    def __init__(self, config: HeadsConfig) -> None:
        super().__init__()
        self.config = config
        self.backbone = SharedBackbone(config.backbone, config.input_mean, config.input_std)
        ch = self.backbone.channels
        self.segmentation = DeepLabV3PlusHead(
            deep_ch=ch[config.aspp_level],
            low_ch=ch[config.low_level],
            num_classes=config.num_segmentation_classes,
            aspp_channels=config.aspp_channels,
            aspp_rates=config.aspp_rates,
            low_level_channels=config.low_level_channels,
            decoder_channels=config.decoder_channels,
            depthwise=config.depthwise,
            norm=config.norm,
        )
        self.detection = AnchorFreeDetector(
            in_channels=ch[1:],
            num_classes=config.num_detection_classes,
            channels=config.fpn_channels,
            tower_depth=config.det_tower_depth,
            depthwise=config.depthwise,
            norm=config.norm,
        )

    @property
    def prefers_channels_last(self) -> bool:
        """Tell the inference form which memory layout is faster.

        The depthwise (light) heads run faster channels-last; the dense ones stay
        channels-first, where NNPACK takes their 3x3 convs.
        """
        return bool(self.config.depthwise)

    def head_input_size(self, height: int, width: int) -> tuple[int, int]:
        """Size the fused image is resized to before the backbone."""
        s = self.config.input_scale
        return max(32, round(height * s)), max(32, round(width * s))

    def forward(self, fused: torch.Tensor) -> TaskHeadsOutput:
        """``fused``: (B, 1, H, W) in [0, 1]."""
        if fused.ndim != 4 or fused.shape[1] != 1:
            raise ValueError(
                f'task heads expect a (B, 1, H, W) fused image, got {tuple(fused.shape)}'
            )
        height, width = fused.shape[-2:]
        hh, hw = self.head_input_size(height, width)
        x = fused
        if (hh, hw) != (height, width):
            x = F.interpolate(fused, size=(hh, hw), mode='bilinear', align_corners=False)
        features = self.backbone(x)
        seg = self.segmentation(features[self.config.aspp_level], features[self.config.low_level])
        det = self.detection(features[1:])
        det.scale = (width / hw, height / hh)
        det.image_size = (int(height), int(width))
        return TaskHeadsOutput(seg, det)
