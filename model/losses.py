"""SiamMask's three training losses and their weighting.

The SiamMask paper (Wang et al., "Fast Online Object Tracking and Segmentation: A Unifying Approach",
CVPR 2019, section 3.2, eq. 5) trains the three-branch network with
    L_3B = lambda1 * L_mask + lambda2 * L_score + lambda3 * L_box,  lambda1 = 32, lambda2 = lambda3 = 1.
The authors' released training configuration (experiments/siammask_base/config.json, "loss": {"weight":
[1.0, 1.2, 36]}) uses score 1.0, box 1.2, mask 36 instead; both are available (LossWeights.paper() is
the default, LossWeights.reference_code() the other).
- L_score: binary cross-entropy (log-softmax over the 2 score channels) averaged separately over the
  positive and the negative anchors, then 0.5 * pos + 0.5 * neg (ignored anchors do not count).
- L_box: L1 distance between predicted and target deltas, summed over the 4 coordinates, each positive
  anchor weighted 1 / (number of positives), averaged over the batch (the released code's choice; the
  paper cites the smooth L1 of SiamRPN: set `smooth_l1_beta` > 0 for that).
- L_mask: binary logistic loss log(1 + exp(-y m)), y in {-1, 1}, over the 127 x 127 mask predicted at a
  positive position against the 127 x 127 window of the 255 search mask centred on that position
  (window of position (i, j) starts at (8 i - 32, 8 j - 32) in the search crop), averaged over pixels.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MASK_WINDOW_PX = 127
MASK_WINDOW_PAD_PX = 32  # = (127 - 255) / 2 + 8 * (25 // 2): window of the centre position is centred


@dataclass(frozen=True)
class LossWeights:
    score: float = 1.0
    box: float = 1.0
    mask: float = 32.0

    @classmethod
    def paper(cls) -> "LossWeights":
        return cls(score=1.0, box=1.0, mask=32.0)

    @classmethod
    def reference_code(cls) -> "LossWeights":
        return cls(score=1.0, box=1.2, mask=36.0)


@dataclass
class LossTerms:
    """The weighted total (what is back-propagated) and the three unweighted terms (for logging)."""

    total: torch.Tensor
    score: torch.Tensor
    box: torch.Tensor
    mask: torch.Tensor


def score_loss(score_logits: torch.Tensor, label_cls: torch.Tensor) -> torch.Tensor:
    """score_logits (B, 2A, S, S) (channel c * A + a = class c of anchor a); label_cls (B, A, S, S)."""
    batch, channels, height, width = score_logits.shape
    log_prob = F.log_softmax(score_logits.view(batch, 2, channels // 2, height, width), dim=1)
    log_prob = log_prob.permute(0, 2, 3, 4, 1).reshape(-1, 2)
    labels = label_cls.reshape(-1)
    total = score_logits.sum() * 0.0
    for value in (0, 1):
        chosen = labels == value
        if chosen.any():
            total = total + 0.5 * F.nll_loss(log_prob[chosen], labels[chosen])
    return total


def box_loss(box_deltas: torch.Tensor, label_delta: torch.Tensor, label_delta_weight: torch.Tensor,
             smooth_l1_beta: float = 0.0) -> torch.Tensor:
    """box_deltas (B, 4A, S, S) (channel k * A + a); label_delta (B, 4, A, S, S); weight (B, A, S, S)."""
    batch, channels, height, width = box_deltas.shape
    predicted = box_deltas.view(batch, 4, channels // 4, height, width)
    if smooth_l1_beta > 0:
        distance = F.smooth_l1_loss(predicted, label_delta, reduction="none", beta=smooth_l1_beta)
    else:
        distance = (predicted - label_delta).abs()
    return (distance.sum(dim=1) * label_delta_weight).sum() / batch


def mask_windows(search_mask: torch.Tensor, positions: torch.Tensor, stride: int = 8) -> torch.Tensor:
    """(N, 127, 127) label windows: search_mask (B, 1, 255, 255) in {-1, 1}; positions (N, 3) b, i, j."""
    padded = F.pad(search_mask, [MASK_WINDOW_PAD_PX] * 4, value=-1.0)
    windows = [padded[b, 0, stride * i:stride * i + MASK_WINDOW_PX, stride * j:stride * j + MASK_WINDOW_PX]
               for b, i, j in positions.tolist()]
    if not windows:
        return search_mask.new_zeros((0, MASK_WINDOW_PX, MASK_WINDOW_PX))
    return torch.stack(windows)


def mask_loss(mask_logits: torch.Tensor, label_windows: torch.Tensor) -> torch.Tensor:
    """mask_logits (N, h, w) at N positive positions (upsampled bilinearly to 127 when smaller)."""
    if mask_logits.shape[0] == 0:
        return mask_logits.sum() * 0.0
    if mask_logits.shape[-1] != MASK_WINDOW_PX:
        mask_logits = F.interpolate(mask_logits[:, None], size=(MASK_WINDOW_PX, MASK_WINDOW_PX),
                                    mode="bilinear", align_corners=True)[:, 0]
    return F.soft_margin_loss(mask_logits, label_windows)


def mask_iou(mask_logits: torch.Tensor, label_windows: torch.Tensor) -> torch.Tensor:
    """(N,) IoU of the thresholded (logit > 0) masks with the label windows, for monitoring."""
    if mask_logits.shape[-1] != MASK_WINDOW_PX:
        mask_logits = F.interpolate(mask_logits[:, None], size=(MASK_WINDOW_PX, MASK_WINDOW_PX),
                                    mode="bilinear", align_corners=True)[:, 0]
    predicted, truth = mask_logits > 0, label_windows > 0
    inter = (predicted & truth).flatten(1).sum(1).float()
    union = (predicted | truth).flatten(1).sum(1).float()
    return inter / union.clamp(min=1.0)


def combine(weights: LossWeights, score: torch.Tensor, box: torch.Tensor, mask: torch.Tensor) -> LossTerms:
    total = weights.score * score + weights.box * box + weights.mask * mask
    return LossTerms(total=total, score=score.detach(), box=box.detach(), mask=mask.detach())
