"""Convolution followed by an optional norm and activation (the most repeated unit)."""

from __future__ import annotations

from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from tsjnet_ros.core.model.blocks.layer_choice import LayerSpec, act_factory, norm2d_factory


class ConvNormAct(nn.Sequential):
    """``conv -> norm -> act``, padded so the spatial size only changes by ``stride``.

    ``norm_layer=None`` / ``act_layer=None`` drop that part. The parts are numbered
    (``0`` conv, ``1`` norm, then act), the state-dict layout of our checkpoints and of the
    authors' released TSJNet file. :meth:`fuse` gives the inference form.
    """

    def __init__(
        self,
        in_chs: int,
        out_chs: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        bias: bool = True,
        norm_layer: LayerSpec | None = 'batchnorm2d',
        act_layer: LayerSpec | None = 'relu',
        dilation: int = 1,
    ) -> None:
        if in_chs <= 0 or out_chs <= 0:
            raise ValueError(f'channel counts must be positive, got {in_chs} -> {out_chs}')
        if in_chs % groups or out_chs % groups:
            raise ValueError(f'groups ({groups}) must divide both {in_chs} and {out_chs}')
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_chs,
                out_chs,
                kernel_size,
                stride,
                dilation * (kernel_size // 2),
                dilation=dilation,
                groups=groups,
                bias=bias,
            )
        ]
        if norm_layer is not None:
            layers.append(norm2d_factory(norm_layer)(out_chs))
        if act_layer is not None:
            layers.append(act_factory(act_layer)())
        super().__init__(*layers)

    def fuse(self) -> nn.Sequential:
        """Return the inference form (eval mode) of this block.

        A batch norm is folded into the conv's weights and bias (running statistics), a
        no-op norm is dropped; other norms are kept.
        """
        conv, rest = self[0], list(self)[1:]
        if rest and isinstance(rest[0], nn.BatchNorm2d) and rest[0].track_running_stats:
            conv, rest = fuse_conv_bn_eval(conv.eval(), rest[0].eval()), rest[1:]
        return nn.Sequential(conv, *(m for m in rest if not isinstance(m, nn.Identity)))
