"""A lightweight SiamMask backbone: a narrow ResNet-18 to stage 3, same strides and sizes as ResNet-50.

It returns the same four feature maps as SiamMask's ResNet-50 (conv1, layer1, layer2, layer3), with the
same spatial sizes for 127 and 255 px inputs (unpadded 7x7 stride-2 conv1, unpadded stride-2 layer2,
layer3 at stride 8 with dilation 2), so the correlation heads and the refinement module work on it
unchanged; only the channel counts are smaller (`widths`). At the default widths (16, 32, 64, 128) it
has 0.73 M parameters against 8.5 M for ResNet-50 to stage 3, at about 2 % of its FLOPs: small enough
to train on a CPU. Register name: "resnet18_light"; `ModelConfig.extra["backbone_widths"]` overrides
the widths.
"""
from __future__ import annotations

import torch
from torch import nn

from .backbone import StagedTrunk, register_backbone
from .config import ModelConfig

LIGHT_BACKBONE = "resnet18_light"
DEFAULT_WIDTHS = (16, 32, 64, 128)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual; `padding` 0 on a stride-2 block (as SiamMask's ResNet)."""

    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"))  # folded by network.inference at export

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, dilation: int = 1):
        super().__init__()
        padding = 0 if stride > 1 else dilation
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, padding, dilation=dilation, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, dilation, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = nn.Identity()
        if stride > 1 or in_channels != out_channels or dilation > 1:
            kernel = 3 if stride > 1 else 1
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, kernel, stride, 0, bias=False), nn.BatchNorm2d(out_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.shortcut(x))


class LightResNet(StagedTrunk):
    """ResNet-18-style trunk: input (B, 3, H, W) BGR 0-255 -> [p0, p1, p2, p3].

    For a 255 input: p0 (B, w0, 125, 125), p1 (B, w1, 63, 63), p2 (B, w2, 31, 31), p3 (B, w3, 31, 31);
    for 127: 61, 31, 15, 15 - the sizes of SiamMask's ResNet-50.
    """

    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, widths: tuple[int, int, int, int] = DEFAULT_WIDTHS, blocks: tuple[int, int, int] = (2, 2, 2)):
        super().__init__()
        self.widths = tuple(widths)
        w0, w1, w2, w3 = widths
        self.conv1 = nn.Conv2d(3, w0, 7, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(w0)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._stage(w0, w1, blocks[0], stride=1, dilation=1)
        self.layer2 = self._stage(w1, w2, blocks[1], stride=2, dilation=1)
        self.layer3 = self._stage(w2, w3, blocks[2], stride=1, dilation=2)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    @staticmethod
    def _stage(in_channels: int, out_channels: int, count: int, stride: int, dilation: int) -> nn.Sequential:
        first = BasicBlock(in_channels, out_channels, stride, 1 if stride > 1 else dilation)
        return nn.Sequential(first, *(BasicBlock(out_channels, out_channels, 1, dilation) for _ in range(count - 1)))


def build_light_resnet(config: ModelConfig) -> tuple[nn.Module, tuple[int, int, int, int]]:
    widths = tuple(int(w) for w in config.extra.get("backbone_widths", DEFAULT_WIDTHS))
    return LightResNet(widths), widths


register_backbone(LIGHT_BACKBONE, build_light_resnet)
