"""Backbones for SiamMask: the authors' ResNet-50 to stage 3 (dilated stage 3), plus a registry.

Module and parameter names mirror the authors' code (`conv1`, `bn1`, `layer1.0.downsample.0`, ...)
so official checkpoints load without renaming.

Backbone protocol (what `BACKBONES[name](config)` returns): `(trunk, channels)` where `trunk` maps a
(B, 3, H, W) float BGR 0-255 image to four maps [p0, p1, p2, p3] and `channels` gives their widths.
For a 255 px search crop the sizes must be p0 125x125, p1 63x63, p2 31x31, p3 31x31 (and 61, 31, 15,
15 for the 127 px exemplar): the correlation heads and the refinement module depend on them.
Other modules (e.g. a lightweight trunk for training) register themselves with `register_backbone`.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from .config import ModelConfig

BackboneBuilder = Callable[[ModelConfig], "tuple[nn.Module, tuple[int, int, int, int]]"]
BACKBONES: dict[str, BackboneBuilder] = {}


def register_backbone(name: str, builder: BackboneBuilder) -> None:
    BACKBONES[name] = builder


class Bottleneck(nn.Module):
    """ResNet bottleneck as in SiamMask: stride-2 blocks use an unpadded 3x3 (padding = 2 - stride)."""

    expansion = 4
    conv_bn_pairs = (("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"))

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: int = 1):
        super().__init__()
        padding = dilation if dilation > 1 else 2 - stride
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=stride, padding=padding, bias=False,
                               dilation=dilation)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample if downsample is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + self.downsample(x))


class StagedTrunk(nn.Module):
    """A ResNet stem and three stages; subclasses build `conv1`, `bn1`, `relu`, `maxpool`, `layer1..3`.

    (B, 3, H, W) -> [p0 (stem), p1, p2, p3 (stage outputs)]: the four maps of the backbone protocol.
    """

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        p0 = self.relu(self.bn1(self.conv1(x)))
        p1 = self.layer1(self.maxpool(p0))
        p2 = self.layer2(p1)
        p3 = self.layer3(p2)
        return [p0, p1, p2, p3]


class ResNet50Trunk(StagedTrunk):
    """ResNet-50 through layer3; layer3 keeps stride 8 with dilation 2. (B,3,H,W) -> [p0, p1, p2, p3]."""

    conv_bn_pairs = (("conv1", "bn1"),)

    def __init__(self, blocks: tuple[int, int, int] = (3, 4, 6)):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, blocks[0])
        self.layer2 = self._make_layer(128, blocks[1], stride=2)
        self.layer3 = self._make_layer(256, blocks[2], dilation=2)

    def _make_layer(self, planes: int, count: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        out_planes = planes * Bottleneck.expansion
        first_dilation = dilation
        downsample = None
        if stride != 1 or self.inplanes != out_planes:
            if stride == 1 and dilation == 1:
                downsample = nn.Sequential(nn.Conv2d(self.inplanes, out_planes, 1, bias=False),
                                           nn.BatchNorm2d(out_planes))
            else:
                # The authors' strided/dilated shortcut: a 3x3 conv, unpadded when strided.
                first_dilation = dilation // 2 if dilation > 1 else 1
                padding = first_dilation if dilation > 1 else 0
                downsample = nn.Sequential(
                    nn.Conv2d(self.inplanes, out_planes, 3, stride=stride, padding=padding,
                              dilation=first_dilation, bias=False),
                    nn.BatchNorm2d(out_planes))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, dilation=first_dilation)]
        self.inplanes = out_planes
        layers += [Bottleneck(self.inplanes, planes, dilation=dilation) for _ in range(1, count)]
        return nn.Sequential(*layers)


def build_resnet50(config: ModelConfig) -> tuple[nn.Module, tuple[int, int, int, int]]:
    return ResNet50Trunk(), (64, 256, 512, 1024)


register_backbone("resnet50", build_resnet50)
