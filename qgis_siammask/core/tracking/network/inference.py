"""The deployable form of SiamMask: BatchNorm folded, heads fused, only what tracking needs.

`InferenceNet` is what gets scripted to TorchScript. Its three methods are the runtime contract:
- `template(z (B,3,127,127)) -> kernels (B, K*256, 5, 5)`, K = 3 branches (score, box, mask) or 2;
- `forward(x (B,3,255,255), kernels) -> (score (B,2A,25,25), delta (B,4A,25,25), p0, p1, p2, mask_corr)`
  where p0..p2 are trunk maps and mask_corr (B,256,25,25) the mask branch correlation (empty if no mask);
- `refine_mask(p0, p1, p2, mask_corr, positions (B,2) long [y, x]) -> probabilities (B,127,127)`,
  evaluated only at each target's chosen cell (the full 63*63-channel mask head is never computed).

A torch.export archive (`.pt2`) holds the three as programs named by `EXPORTED_PROGRAMS`, each with a
dynamic target count B.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .siammask import Refine, SiamMask, gather_cells, xcorr_depthwise


# torch.export archive program name -> (InferenceNet method, the parts it uses: each program stores only
# their weights). The tracking step is "model", the name `torch.export.load` returns.
EXPORTED_PROGRAMS = {"model": ("forward", ("features", "search_conv", "cls_head", "loc_head")),
                     "template": ("template", ("features", "kernel_conv")),
                     "refine_mask": ("refine_mask", ("refine",))}


def _fold(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    """Fold an eval-mode BatchNorm into the preceding conv, in float64 for accuracy."""
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    weight = conv.weight.double() * scale.reshape(-1, 1, 1, 1)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    bias = (bias - bn.running_mean.double()) * scale + bn.bias.double()
    conv.weight = nn.Parameter(weight.to(conv.weight.dtype))
    conv.bias = nn.Parameter(bias.to(conv.weight.dtype))


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every conv->BN pair (consecutive in a Sequential, or named in `conv_bn_pairs`) in place."""
    for child in module.children():
        fold_batchnorm(child)
    pairs = list(getattr(module, "conv_bn_pairs", ()))
    if isinstance(module, nn.Sequential):
        items = list(module._modules.items())
        pairs += [(a, b) for (a, ma), (b, mb) in zip(items, items[1:])
                  if isinstance(ma, nn.Conv2d) and isinstance(mb, nn.BatchNorm2d)]
    for conv_name, bn_name in pairs:
        bn = module._modules[bn_name]
        if isinstance(bn, nn.BatchNorm2d):
            _fold(module._modules[conv_name], bn)
            module._modules[bn_name] = nn.Identity()
    return module


def _concat_convs(convs: list[nn.Conv2d]) -> nn.Conv2d:
    """One conv computing several same-shaped convs side by side (output channels concatenated)."""
    first = convs[0]
    fused = nn.Conv2d(first.in_channels, sum(c.out_channels for c in convs), first.kernel_size, bias=True)
    fused.weight = nn.Parameter(torch.cat([c.weight for c in convs]).detach().clone())
    fused.bias = nn.Parameter(torch.cat([c.bias for c in convs]).detach().clone())
    return fused


class InferenceNet(nn.Module):
    """See the module docstring; build with `InferenceNet.from_siammask(model)`."""

    def __init__(self, features: nn.Module, kernel_conv: nn.Conv2d, search_conv: nn.Conv2d, cls_head: nn.Module,
                 loc_head: nn.Module, refine: Refine, channels: int, has_mask: bool):
        super().__init__()
        self.features = features
        self.kernel_conv = kernel_conv
        self.search_conv = search_conv
        self.cls_head = cls_head
        self.loc_head = loc_head
        self.refine = refine
        self.channels = channels
        self.has_mask = has_mask

    @classmethod
    def from_siammask(cls, model: SiamMask) -> "InferenceNet":
        model = fold_batchnorm(model.eval())
        branches = [model.rpn_model.cls, model.rpn_model.loc]
        if model.config.has_mask:
            branches.append(model.mask_model.mask)
        net = cls(model.features, _concat_convs([b.conv_kernel[0] for b in branches]),
                  _concat_convs([b.conv_search[0] for b in branches]), model.rpn_model.cls.head,
                  model.rpn_model.loc.head, model.refine_model, model.config.feature_channels,
                  model.config.has_mask)
        return net.eval()

    @torch.jit.export
    def template(self, z: torch.Tensor) -> torch.Tensor:
        feature = self.features(z)[1]
        return F.relu(self.kernel_conv(feature))

    def forward(self, x: torch.Tensor, kernels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor,
                                                                        torch.Tensor, torch.Tensor, torch.Tensor]:
        skips, feature = self.features(x)
        corr = xcorr_depthwise(F.relu(self.search_conv(feature)), kernels)
        c = self.channels
        score = self.cls_head(corr[:, :c])
        delta = self.loc_head(corr[:, c:2 * c])
        return score, delta, skips[0], skips[1], skips[2], corr[:, 2 * c:]

    @torch.jit.export
    def refine_mask(self, p0: torch.Tensor, p1: torch.Tensor, p2: torch.Tensor, mask_corr: torch.Tensor,
                    positions: torch.Tensor) -> torch.Tensor:
        crops = self.refine.crop_skips([p0, p1, p2], positions)
        return torch.sigmoid(self.refine(crops, gather_cells(mask_corr, positions)))


class EntryPoint(nn.Module):
    """One `InferenceNet` method as the `forward` of a module holding only the parts that method uses
    (what torch.export traces: one program per entry point)."""

    def __init__(self, net: InferenceNet, program: str):
        super().__init__()
        self.method, parts = EXPORTED_PROGRAMS[program]
        for part in parts:
            setattr(self, part, getattr(net, part))
        self.channels = net.channels
        self.has_mask = net.has_mask

    def forward(self, *inputs: torch.Tensor):
        return getattr(InferenceNet, self.method)(self, *inputs)
