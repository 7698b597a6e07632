"""Anchor labels for SiamMask's score and box branches.

Same rules as the SiamMask training code (datasets/siam_mask_dataset.py, AnchorTargetLayer): 5 anchors
per position (aspect ratios 0.33, 0.5, 1, 2, 3 at scale 8, stride 8) on the 25 x 25 score map of a
255 px search crop; an anchor is positive when its IoU with the target exceeds 0.6, negative below 0.3;
at most 16 positives and 64 labelled anchors in all per pair, the rest ignored. For a negative pair
(search crop of another object) only up to 16 anchors in the central 7 x 7 positions are labelled
negative. Box targets are the usual deltas (dx/w, dy/h, log tw/w, log th/h), each positive weighted
1 / number of positives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AnchorTargetConfig:
    search_size: int = 255
    exemplar_size: int = 127
    stride: int = 8
    base_size: int = 8
    ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: tuple[float, ...] = (8.0,)
    positive_iou: float = 0.6
    negative_iou: float = 0.3
    max_positives: int = 16
    max_labelled: int = 64
    max_negatives_in_negative_pair: int = 16

    @property
    def score_size(self) -> int:
        """25 for 255/127/8/8: the spatial size of the score map the network outputs."""
        return (self.search_size - self.exemplar_size) // self.stride + 1 + self.base_size

    @property
    def anchor_count(self) -> int:
        return len(self.ratios) * len(self.scales)


@dataclass(frozen=True)
class AnchorLabels:
    """cls (A, S, S) int64 in {-1, 0, 1}; delta (4, A, S, S) float32; delta_weight (A, S, S) float32."""

    cls: np.ndarray
    delta: np.ndarray
    delta_weight: np.ndarray


def make_anchors(cfg: AnchorTargetConfig) -> np.ndarray:
    """(4, A, S, S) float32 anchors as centre x, centre y, width, height in search-crop pixels.

    Anchor a has the a-th (ratio, scale) pair, ratios outer, as in the network's output channels; the
    sizes are rounded down to whole pixels like the reference (int(sqrt(stride^2 / r)), int(ws * r)).
    """
    sizes = []
    for ratio in cfg.ratios:
        ws = int(math.sqrt(cfg.stride * cfg.stride / ratio))
        hs = int(ws * ratio)
        sizes.extend((ws * scale, hs * scale) for scale in cfg.scales)
    size = cfg.score_size
    origin = cfg.search_size // 2 - size // 2 * cfg.stride
    grid = origin + cfg.stride * np.arange(size, dtype=np.float32)
    anchors = np.zeros((4, len(sizes), size, size), np.float32)
    anchors[0] = grid[None, None, :]
    anchors[1] = grid[None, :, None]
    for a, (w, h) in enumerate(sizes):
        anchors[2, a], anchors[3, a] = w, h
    return anchors


def anchor_iou(anchors: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    """(A, S, S) IoU of every anchor (4, A, S, S centre form) with one x1, y1, x2, y2 box."""
    cx, cy, w, h = anchors
    ax1, ay1, ax2, ay2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    bx1, by1, bx2, by2 = box_xyxy
    inter = np.clip(np.minimum(ax2, bx2) - np.maximum(ax1, bx1), 0, None) * \
        np.clip(np.minimum(ay2, by2) - np.maximum(ay1, by1), 0, None)
    union = w * h + (bx2 - bx1) * (by2 - by1) - inter
    return inter / np.maximum(union, 1e-9)


def box_deltas(anchors: np.ndarray, box_xyxy: np.ndarray) -> np.ndarray:
    """(4, A, S, S) regression targets of one box relative to every anchor."""
    cx, cy, w, h = anchors
    x1, y1, x2, y2 = box_xyxy
    tw, th = max(x2 - x1, 1e-3), max(y2 - y1, 1e-3)
    return np.stack([((x1 + x2) / 2 - cx) / w, ((y1 + y2) / 2 - cy) / h,
                     np.log(tw / w), np.log(th / h)]).astype(np.float32)


def decode_deltas(anchors: np.ndarray, deltas: np.ndarray) -> np.ndarray:
    """(..., 4) x1, y1, x2, y2 boxes from (4, ...) deltas and matching (4, ...) anchors.

    Size deltas are clipped to +-6 (a factor of 400) so an untrained network cannot overflow exp().
    """
    cx = anchors[0] + deltas[0] * anchors[2]
    cy = anchors[1] + deltas[1] * anchors[3]
    w = anchors[2] * np.exp(np.clip(deltas[2], -6.0, 6.0))
    h = anchors[3] * np.exp(np.clip(deltas[3], -6.0, 6.0))
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)


def _keep_random(where: tuple[np.ndarray, ...], keep: int, rng: np.random.Generator):
    count = where[0].size
    if count <= keep:
        return where, count
    chosen = rng.permutation(count)[:keep]
    return tuple(axis[chosen] for axis in where), keep


def anchor_targets(anchors: np.ndarray, box_xyxy: np.ndarray, cfg: AnchorTargetConfig,
                   rng: np.random.Generator, negative: bool = False) -> AnchorLabels:
    """Score and box labels of one search crop whose target is `box_xyxy` (ignored when negative)."""
    shape = anchors.shape[1:]
    cls = np.full(shape, -1, np.int64)
    delta_weight = np.zeros(shape, np.float32)
    if negative:
        size = shape[-1]
        centre = np.zeros(shape, bool)
        centre[:, size // 2 - 3:size // 2 + 4, size // 2 - 3:size // 2 + 4] = True
        chosen, _ = _keep_random(np.nonzero(centre), cfg.max_negatives_in_negative_pair, rng)
        cls[chosen] = 0
        return AnchorLabels(cls, np.zeros((4, *shape), np.float32), delta_weight)
    iou = anchor_iou(anchors, box_xyxy)
    positives, n_pos = _keep_random(np.nonzero(iou > cfg.positive_iou), cfg.max_positives, rng)
    negatives, _ = _keep_random(np.nonzero(iou < cfg.negative_iou), cfg.max_labelled - n_pos, rng)
    cls[positives] = 1
    cls[negatives] = 0
    delta_weight[positives] = 1.0 / (n_pos + 1e-6)
    return AnchorLabels(cls, box_deltas(anchors, box_xyxy), delta_weight)
