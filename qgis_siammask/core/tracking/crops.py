"""Image geometry of SiamMask tracking: square context crops, anchors, the motion window, mask paste-back.

Every rule reproduces the authors' tracker (tools/test.py of SiamMask) to the pixel, because the network
was trained on crops made that way: context crops padded with the exemplar frame's mean colour (cast to
uint8), Python's round-half-to-even on crop corners, OpenCV bilinear resizes, and the mask patch warped
back into the frame with the authors' (size - 1) / size scaling.
"""
from __future__ import annotations

import math

import cv2
import numpy as np


def context_side(size_wh: np.ndarray, context_amount: float) -> float:
    """Side (px) of the square context around a w x h target: sqrt((w + p)(h + p)), p = context * (w + h)."""
    pad = context_amount * float(size_wh[0] + size_wh[1])
    return math.sqrt((float(size_wh[0]) + pad) * (float(size_wh[1]) + pad))


def subwindow(image: np.ndarray, center_xy: np.ndarray, model_size: int, original_size: int,
              fill_bgr: np.ndarray) -> np.ndarray:
    """The original_size square centred on center_xy, resized to (model_size, model_size, 3) uint8.

    Parts outside the image take `fill_bgr` (float, truncated to uint8 as the reference does).
    """
    height, width = image.shape[:2]
    half = (original_size + 1) / 2
    x0 = round(float(center_xy[0]) - half)
    y0 = round(float(center_xy[1]) - half)
    x1, y1 = x0 + original_size, y0 + original_size  # exclusive
    if x0 >= 0 and y0 >= 0 and x1 <= width and y1 <= height:
        patch = image[y0:y1, x0:x1]
    else:
        patch = np.empty((original_size, original_size, 3), np.uint8)
        patch[:] = np.asarray(fill_bgr, np.float64).astype(np.uint8)
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x1, width), min(y1, height)
        if sx0 < sx1 and sy0 < sy1:
            patch[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = image[sy0:sy1, sx0:sx1]
    if model_size != original_size:
        patch = cv2.resize(patch, (model_size, model_size))
    return patch


def anchor_shapes(stride: int, ratios: tuple[float, ...], scales: tuple[float, ...]) -> np.ndarray:
    """(A, 2) float32 anchor widths and heights: w = int(sqrt(stride^2 / r)) * s, h = int(w0 * r) * s."""
    shapes = []
    for ratio in ratios:
        base_w = int(math.sqrt(stride * stride / ratio))
        base_h = int(base_w * ratio)
        shapes += [(base_w * scale, base_h * scale) for scale in scales]
    return np.asarray(shapes, np.float32)


def anchor_grid(stride: int, ratios: tuple[float, ...], scales: tuple[float, ...], score_size: int) -> np.ndarray:
    """(A * S * S, 4) float32 anchors (cx, cy, w, h) relative to the crop centre, index a * S * S + y * S + x."""
    shapes = anchor_shapes(stride, ratios, scales)
    offsets = (np.arange(score_size) - score_size // 2) * stride
    xx, yy = np.meshgrid(offsets, offsets)
    count = shapes.shape[0]
    anchors = np.empty((count, score_size * score_size, 4), np.float32)
    anchors[:, :, 0] = xx.ravel()
    anchors[:, :, 1] = yy.ravel()
    anchors[:, :, 2] = shapes[:, :1]
    anchors[:, :, 3] = shapes[:, 1:]
    return anchors.reshape(-1, 4)


def cosine_window(score_size: int, anchor_count: int) -> np.ndarray:
    """(A * S * S,) float64 Hanning window favouring small displacements, repeated per anchor."""
    window = np.outer(np.hanning(score_size), np.hanning(score_size)).ravel()
    return np.tile(window, anchor_count)


def paste_mask(mask_patch: np.ndarray, patch_box_xywh: tuple[float, float, float, float],
               frame_wh: tuple[int, int]) -> np.ndarray:
    """Warp a (P, P) float32 mask patch covering patch_box (frame px) into a (H, W) float32 frame, -1 outside."""
    width, height = frame_wh
    size = mask_patch.shape[0]
    scale = size / patch_box_xywh[2]
    back = (-patch_box_xywh[0] * scale, -patch_box_xywh[1] * scale, width * scale, height * scale)
    a = (width - 1) / back[2]
    b = (height - 1) / back[3]
    mapping = np.array([[a, 0.0, -a * back[0]], [0.0, b, -b * back[1]]], np.float64)
    return cv2.warpAffine(mask_patch, mapping, (width, height), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=-1)


def mask_boxes(mask: np.ndarray, fallback_xywh: tuple[float, float, float, float],
               min_area_px: float = 100.0) -> tuple[np.ndarray, tuple[float, float, float, float] | None]:
    """The boxes of the largest outer contour of `mask` (H, W) uint8 0/1: its min-area rectangle as (4, 2)
    float64 corners and its axis-aligned bounds (x, y, w, h). When no contour is larger than
    `min_area_px` (no mask, or only specks): the fallback box's corners, and None."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if contours:
        areas = [cv2.contourArea(c) for c in contours]
        best = int(np.argmax(areas))
        if areas[best] > min_area_px:
            outline = contours[best].reshape(-1, 2)
            corners = cv2.boxPoints(cv2.minAreaRect(outline)).astype(np.float64)
            return corners, tuple(float(v) for v in cv2.boundingRect(outline))
    x, y, w, h = fallback_xywh
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64), None
