"""The SiamMask network ("sharp" variant: correlation heads, mask head and refinement module).

Module names mirror the authors' code (`features.features.*`, `features.downsample.downsample.*`,
`rpn_model.cls.*`, `rpn_model.loc.*`, `mask_model.mask.*`, `refine_model.*`) so official checkpoints
load as they are. Parts are built from an explicit `ModelConfig`; the trunk comes from `BACKBONES`.

Training-side signatures (all tensors float, images BGR 0-255):
- `SiamMask.forward(template (B,3,127,127), search (B,3,255,255), positions (B,2) long [y, x] or None)`
  -> `SiamMaskOutput(score (B,2A,25,25) logits [background A channels, then foreground A],
  delta (B,4A,25,25) [dx A, dy A, dw A, dh A], mask_logits (B,127,127) at `positions` or None)`.
  Anchor a at cell (y, x) is channel a (score) / k*A + a (delta) at that cell.
- `SiamMask.coarse_mask(template, search)` -> (B, 63*63, 25, 25) logits of the non-refined mask head.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ModelError
from . import backbone_light  # noqa: F401  (registers the light trunk beside ResNet-50)
from .backbone import BACKBONES
from .config import ModelConfig


def xcorr_depthwise(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-sample, per-channel cross-correlation as one grouped conv: (B,C,H,W) * (B,C,h,w) -> (B,C,H-h+1,W-w+1)."""
    batch, channels = kernel.shape[0], kernel.shape[1]
    flat_search = search.reshape(1, batch * channels, search.shape[2], search.shape[3])
    flat_kernel = kernel.reshape(batch * channels, 1, kernel.shape[2], kernel.shape[3])
    out = F.conv2d(flat_search, flat_kernel, groups=batch * channels)
    return out.reshape(batch, channels, out.shape[2], out.shape[3])


def _conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, bias=False),
                         nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True))


class AdjustLayer(nn.Module):
    """1x1 conv + BN from the trunk's last stage to `out_channels`; crops the exemplar's 15x15 to its 7x7 centre."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                        nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        if x.shape[3] < 20:
            x = x[:, :, 4:-4, 4:-4]
        return x


class Features(nn.Module):
    """Trunk + adjust layer: image -> ([p0, p1, p2], adjusted (B, 256, 7|31, 7|31))."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        if config.backbone not in BACKBONES:
            raise ModelError(f"unknown backbone {config.backbone!r} (known: {', '.join(sorted(BACKBONES))})")
        trunk, channels = BACKBONES[config.backbone](config)
        self.features = trunk
        self.channels = tuple(channels)
        self.downsample = AdjustLayer(channels[3], config.feature_channels)

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        maps = self.features(x)
        return [maps[0], maps[1], maps[2]], self.downsample(maps[3])


class DepthCorr(nn.Module):
    """Adjust both branches with a 3x3 conv, correlate depth-wise, then a 1x1 head to `out_channels`."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv_kernel = _conv_bn_relu(in_channels, hidden, 3)
        self.conv_search = _conv_bn_relu(in_channels, hidden, 3)
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, 1))

    def correlate(self, template_feature: torch.Tensor, search_feature: torch.Tensor) -> torch.Tensor:
        return xcorr_depthwise(self.conv_search(search_feature), self.conv_kernel(template_feature))

    def forward(self, template_feature: torch.Tensor, search_feature: torch.Tensor) -> torch.Tensor:
        return self.head(self.correlate(template_feature, search_feature))


class RPNHeads(nn.Module):
    """Score (2A channels) and box regression (4A channels) heads."""

    def __init__(self, anchor_num: int, channels: int):
        super().__init__()
        self.cls = DepthCorr(channels, channels, 2 * anchor_num)
        self.loc = DepthCorr(channels, channels, 4 * anchor_num)


class MaskHead(nn.Module):
    """The coarse mask branch; with refinement only its correlation (`mask.correlate`) is used."""

    def __init__(self, channels: int, mask_size: int):
        super().__init__()
        self.mask = DepthCorr(channels, channels, mask_size ** 2)


def upsample_nearest(x: torch.Tensor, side: int) -> torch.Tensor:
    """(B, C, h, w) -> (B, C, side, side), nearest neighbour: `F.interpolate(mode="nearest")`'s result.

    The specific operator, not `F.interpolate`: scripted, the generic function compiles in every mode's
    operator of the torch that exports, and older torch releases refuse files naming ops they lack.
    """
    return torch._C._nn.upsample_nearest2d(x, [side, side])


def _pad(x: torch.Tensor, margin: int) -> torch.Tensor:
    """Zero padding on all four sides with `constant_pad_nd`, an operator every torch release knows."""
    return torch.constant_pad_nd(x, [margin, margin, margin, margin], 0.0)


def _two_convs(in_channels: int, mid_channels: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, mid_channels, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(mid_channels, out_channels, 3, padding=1), nn.ReLU())


class Refine(nn.Module):
    """Refinement module: upsamples one correlation vector to a 127x127 mask with trunk skip features.

    `crop_skips` cuts, for each sample's chosen score cell (y, x), the matching windows of p0 (61x61),
    p1 (31x31) and p2 (15x15); `forward` turns them and the cell's 256-d correlation into logits.
    """

    def __init__(self, skip_channels: tuple[int, int, int], channels: int = 256, out_size: int = 127):
        super().__init__()
        c0, c1, c2 = skip_channels
        self.out_size = out_size
        self.v0 = _two_convs(c0, 16, 4)
        self.v1 = _two_convs(c1, 64, 16)
        self.v2 = _two_convs(c2, 128, 32)
        self.h2 = _two_convs(32, 32, 32)
        self.h1 = _two_convs(16, 16, 16)
        self.h0 = _two_convs(4, 4, 4)
        self.deconv = nn.ConvTranspose2d(channels, 32, 15, 15)
        self.post0 = nn.Conv2d(32, 16, 3, padding=1)
        self.post1 = nn.Conv2d(16, 4, 3, padding=1)
        self.post2 = nn.Conv2d(4, 1, 3, padding=1)

    @staticmethod
    def crop_skips(skips: list[torch.Tensor], positions: torch.Tensor) -> list[torch.Tensor]:
        """skips [p0, p1, p2] of the search crops, positions (B, 2) long (y, x) -> per-sample windows.

        Index gathers on the device (no value is read back to the host), so the step can be captured in
        a CUDA graph; the windows are exactly the slices p[i, :, s*y:s*y + n, s*x:s*x + n] of the padded maps.
        """
        return [_gather_windows(_pad(skips[0], 16), positions, 4, 61),
                _gather_windows(_pad(skips[1], 8), positions, 2, 31),
                _gather_windows(_pad(skips[2], 4), positions, 1, 15)]

    def forward(self, skip_crops: list[torch.Tensor], corr_vector: torch.Tensor) -> torch.Tensor:
        """skip_crops from `crop_skips`, corr_vector (B, 256) -> mask logits (B, 127, 127)."""
        out = self.deconv(corr_vector.reshape(corr_vector.shape[0], -1, 1, 1))
        out = self.post0(upsample_nearest(self.h2(out) + self.v2(skip_crops[2]), 31))
        out = self.post1(upsample_nearest(self.h1(out) + self.v1(skip_crops[1]), 61))
        size = self.out_size
        out = self.post2(upsample_nearest(self.h0(out) + self.v0(skip_crops[0]), size))
        return out.reshape(out.shape[0], size, size)


def _gather_windows(feature: torch.Tensor, positions: torch.Tensor, stride: int, size: int) -> torch.Tensor:
    """feature (B, C, H, W), positions (B, 2) long (y, x) -> (B, C, size, size) windows from (stride*y, stride*x)."""
    batch, channels, width = feature.shape[0], feature.shape[1], feature.shape[3]
    steps = torch.arange(size, device=feature.device)
    rows = stride * positions[:, 0:1] + steps[None, :]
    cols = stride * positions[:, 1:2] + steps[None, :]
    flat = (rows[:, :, None] * width + cols[:, None, :]).reshape(batch, 1, size * size)
    windows = feature.reshape(batch, channels, -1).gather(2, flat.expand(batch, channels, size * size))
    return windows.reshape(batch, channels, size, size)


def gather_cells(feature: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """feature (B, C, H, W), positions (B, 2) long (y, x) -> (B, C) vectors at each sample's cell (device gather)."""
    return _gather_windows(feature, positions, 1, 1).reshape(feature.shape[0], feature.shape[1])


@dataclass
class SiamMaskOutput:
    score: torch.Tensor
    delta: torch.Tensor
    mask_logits: torch.Tensor | None


class SiamMask(nn.Module):
    """The full network with the authors' module tree (see the module docstring for signatures)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        channels = config.feature_channels
        self.features = Features(config)
        self.rpn_model = RPNHeads(config.anchor_num, channels)
        self.mask_model = MaskHead(channels, config.mask_head_size)
        skip_channels = self.features.channels[:3]
        self.refine_model = Refine(skip_channels, channels, config.out_size)

    def forward(self, template: torch.Tensor, search: torch.Tensor,
                positions: torch.Tensor | None = None) -> SiamMaskOutput:
        _, template_feature = self.features(template)
        skips, search_feature = self.features(search)
        score = self.rpn_model.cls(template_feature, search_feature)
        delta = self.rpn_model.loc(template_feature, search_feature)
        mask_logits = None
        if positions is not None:
            corr = self.mask_model.mask.correlate(template_feature, search_feature)
            mask_logits = self.refine_model(Refine.crop_skips(skips, positions), gather_cells(corr, positions))
        return SiamMaskOutput(score, delta, mask_logits)

    def coarse_mask(self, template: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        _, template_feature = self.features(template)
        _, search_feature = self.features(search)
        return self.mask_model.mask(template_feature, search_feature)


def build_siammask(config: ModelConfig) -> SiamMask:
    return SiamMask(config)
