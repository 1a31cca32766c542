"""The four-part TSJNet topology: shared encoder, base/detail fusion layers, decoder.

IR and visible go through one shared encoder, giving base (NAT branch) and detail (DSM
branch) features for each. The base features of both are summed and fused by a NAT
layer, the detail features by a DSM; the decoder turns the fused pair into the fused
image. For the reconstruction loss the same decoder can also rebuild each input from its
own features.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from tsjnet_ros.core.model.encoder import EncodedFeatures, SharedEncoder
from tsjnet_ros.core.model.padding import PAD_MODES, crop_to, pad_to_multiple


class FusionOutput(NamedTuple):
    """Fusion network output: the fused image, attention maps and optional reconstructions.

    ``fused`` (B, 1, H, W) in [0, 1]; ``attention_maps`` (B, G, H', W') from the
    decoder's spatial attention (for L_div); the reconstructions (B, 1, H, W) are None
    unless requested with ``reconstruct=True``.
    """

    fused: torch.Tensor
    attention_maps: torch.Tensor
    ir_reconstruction: torch.Tensor | None = None
    visible_reconstruction: torch.Tensor | None = None


def _check_pair(ir: object, visible: object) -> None:
    for name, t in (('ir', ir), ('visible', visible)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f'{name} must be a torch.Tensor, got {type(t).__name__}')
        if t.dim() != 4 or t.shape[1] != 1:
            raise ValueError(f'{name} must be shaped (B, 1, H, W), got {tuple(t.shape)}')
        if not t.is_floating_point():
            raise TypeError(f'{name} must be a floating-point tensor in [0, 1], got {t.dtype}')
    if ir.shape != visible.shape:
        raise ValueError(
            f'ir {tuple(ir.shape)} and visible {tuple(visible.shape)} must have the same shape'
        )
    if ir.dtype != visible.dtype or ir.device != visible.device:
        raise TypeError(
            f'ir and visible must share dtype and device, got {ir.dtype}/{ir.device} '
            f'and {visible.dtype}/{visible.device}'
        )


class FusionNet(nn.Module):
    """Fuses a registered IR/visible luminance pair of any size.

    Inputs are padded at the bottom/right to a multiple of ``pad_multiple`` (the total
    stride of the network) and every output is cropped back. ``joint_encoding`` runs IR and
    visible through the encoder as one batch (faster for small models); off, they run one
    after the other, which halves the peak memory of large full-resolution encoders.
    ``prefers_channels_last`` tells :func:`~tsjnet_ros.core.model.inference_form.inference_copy`
    which layout is faster.
    ``work_scale`` < 1 runs encoder and decoder on the pair resized by that factor (to the
    nearest multiple of ``pad_multiple``); only a head that blends the full-size sources
    (``full_size_head``) can use it, since the others draw the image at the network's size.
    """

    def __init__(
        self,
        encoder: SharedEncoder,
        base_fusion: nn.Module,
        detail_fusion: nn.Module,
        decoder: nn.Module,
        pad_multiple: int,
        joint_encoding: bool = True,
        pad_mode: str = 'reflect',
        prefers_channels_last: bool = False,
        work_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if pad_multiple < 1:
            raise ValueError(f'pad_multiple must be >= 1, got {pad_multiple}')
        if pad_mode not in PAD_MODES:
            raise ValueError(f'pad_mode must be one of {PAD_MODES}, got {pad_mode!r}')
        self.encoder = encoder
        self.base_fusion = base_fusion
        self.detail_fusion = detail_fusion
        self.decoder = decoder
        self.pad_multiple = int(pad_multiple)
        self.joint_encoding = bool(joint_encoding)
        self.pad_mode = pad_mode
        # Layout hint for the inference form (narrow networks run faster channels-last).
        self.prefers_channels_last = bool(prefers_channels_last)
        if not 0.0 < work_scale <= 1.0:
            raise ValueError(f'work_scale must be in (0, 1], got {work_scale}')
        if work_scale != 1.0 and not getattr(decoder, 'full_size_head', False):
            raise ValueError(
                'work_scale < 1 needs a decoder whose head blends the full-size sources'
            )
        self.work_scale = float(work_scale)

    def encode_pair(
        self, ir: torch.Tensor, visible: torch.Tensor
    ) -> tuple[EncodedFeatures, EncodedFeatures]:
        if not self.joint_encoding:
            return self.encoder(ir), self.encoder(visible)
        both = self.encoder(torch.cat([ir, visible], dim=0))
        batch = ir.shape[0]

        def split(t: torch.Tensor | None, part: int) -> torch.Tensor | None:
            return None if t is None else t[:batch] if part == 0 else t[batch:]

        return tuple(  # type: ignore[return-value]
            EncodedFeatures(split(both.base, p), split(both.detail, p), split(both.skip, p))
            for p in (0, 1)
        )

    def fuse_features(
        self, ir_feats: EncodedFeatures, vis_feats: EncodedFeatures
    ) -> EncodedFeatures:
        """Fusion layers: NAT on the summed base, DSM on the summed detail; skips by max."""
        skip = None
        if ir_feats.skip is not None and vis_feats.skip is not None:
            skip = torch.maximum(ir_feats.skip, vis_feats.skip)
        return EncodedFeatures(
            base=self.base_fusion(ir_feats.base + vis_feats.base),
            detail=self.detail_fusion(ir_feats.detail + vis_feats.detail),
            skip=skip,
        )

    def network_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) the encoder sees for a (height, width) pair when ``work_scale`` < 1."""
        m = self.pad_multiple
        return (
            max(m, round(height * self.work_scale / m) * m),
            max(m, round(width * self.work_scale / m) * m),
        )

    def forward(
        self, ir: torch.Tensor, visible: torch.Tensor, reconstruct: bool = False
    ) -> FusionOutput:
        _check_pair(ir, visible)
        if self.work_scale != 1.0:
            return self._forward_scaled(ir, visible, reconstruct)
        height, width = ir.shape[-2:]
        ir_p = pad_to_multiple(ir, self.pad_multiple, self.pad_mode)
        vis_p = pad_to_multiple(visible, self.pad_multiple, self.pad_mode)
        ir_feats, vis_feats = self.encode_pair(ir_p, vis_p)
        fused_feats = self.fuse_features(ir_feats, vis_feats)
        if not reconstruct:
            del ir_feats, vis_feats  # free the per-modality maps before the decoder's peak
        fused, maps = self.decoder(
            fused_feats.base, fused_feats.detail, fused_feats.skip, (ir_p, vis_p)
        )
        # The maps may be coarser than the image: keep the part that covers real pixels.
        scale_h = ir_p.shape[-2] / maps.shape[-2]
        scale_w = ir_p.shape[-1] / maps.shape[-1]
        maps = crop_to(maps, -(-height // round(scale_h)), -(-width // round(scale_w)))
        ir_rec = vis_rec = None
        if reconstruct:
            ir_rec = self.decoder(ir_feats.base, ir_feats.detail, ir_feats.skip, (ir_p, ir_p))[0]
            vis_rec = self.decoder(
                vis_feats.base, vis_feats.detail, vis_feats.skip, (vis_p, vis_p)
            )[0]
            ir_rec, vis_rec = crop_to(ir_rec, height, width), crop_to(vis_rec, height, width)
        return FusionOutput(crop_to(fused, height, width), maps, ir_rec, vis_rec)

    def _forward_scaled(
        self, ir: torch.Tensor, visible: torch.Tensor, reconstruct: bool
    ) -> FusionOutput:
        """Network on the resized pair; the head blends the full-size sources."""
        size = self.network_size(*ir.shape[-2:])
        small = F.interpolate(
            torch.cat([ir, visible], dim=0),
            size=size,
            mode='bilinear',
            align_corners=False,
            antialias=True,
        )
        ir_s, vis_s = small.split(ir.shape[0])
        ir_feats, vis_feats = self.encode_pair(ir_s, vis_s)
        fused_feats = self.fuse_features(ir_feats, vis_feats)
        fused, maps = self.decoder(
            fused_feats.base, fused_feats.detail, fused_feats.skip, (ir, visible)
        )
        ir_rec = vis_rec = None
        if reconstruct:
            ir_rec = self.decoder(ir_feats.base, ir_feats.detail, ir_feats.skip, (ir, ir))[0]
            vis_rec = self.decoder(
                vis_feats.base, vis_feats.detail, vis_feats.skip, (visible, visible)
            )[0]
        return FusionOutput(fused, maps, ir_rec, vis_rec)
