"""Image geometry of SiamMask tracking: square context crops, anchors, the motion window, mask paste-back.

Every rule reproduces the authors' tracker (tools/test.py of SiamMask) to the pixel, because the network
was trained on crops made that way: context crops padded with the exemplar frame's mean colour (cast to
uint8), Python's round-half-to-even on crop corners, OpenCV bilinear resizes, and the mask patch warped
back into the frame with the authors' (size - 1) / size scaling (`paste_mask`; `paste_mask_region` gives the
same values over just the part of the frame the patch covers).
"""
from __future__ import annotations

import math

import cv2
import numpy as np

_INTER_BITS = 5  # OpenCV's INTER_BITS: bilinear weights tabulated in 1/32 px
_INTER_TAB_SIZE = 1 << _INTER_BITS
_AFFINE_BITS = 10  # OpenCV's AB_BITS: fractional bits of warpAffine's source coordinates


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
    x0, y0 = window_origin(center_xy, original_size)
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


def window_origin(center_xy: np.ndarray, original_size: int) -> tuple[int, int]:
    """Top-left pixel (x, y) of the original_size square centred on center_xy (round half to even)."""
    half = (original_size + 1) / 2
    return round(float(center_xy[0]) - half), round(float(center_xy[1]) - half)


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


def _paste_mapping(patch_size: int, patch_box_xywh: tuple[float, float, float, float],
                   frame_wh: tuple[int, int]) -> list[float]:
    """The authors' patch -> frame affine map, row-major [a, 0, tx, 0, b, ty]."""
    width, height = frame_wh
    scale = patch_size / patch_box_xywh[2]
    back = (-patch_box_xywh[0] * scale, -patch_box_xywh[1] * scale, width * scale, height * scale)
    a = (width - 1) / back[2]
    b = (height - 1) / back[3]
    return [a, 0.0, -a * back[0], 0.0, b, -b * back[1]]


def paste_mask(mask_patch: np.ndarray, patch_box_xywh: tuple[float, float, float, float],
               frame_wh: tuple[int, int]) -> np.ndarray:
    """Warp a (P, P) float32 mask patch covering patch_box (frame px) into a (H, W) float32 frame, -1 outside."""
    mapping = np.array(_paste_mapping(mask_patch.shape[0], patch_box_xywh, frame_wh), np.float64).reshape(2, 3)
    return cv2.warpAffine(mask_patch, mapping, frame_wh, flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=-1)


def paste_mask_region(mask_patch: np.ndarray, patch_box_xywh: tuple[float, float, float, float],
                      frame_wh: tuple[int, int]) -> tuple[tuple[int, int], np.ndarray]:
    """`paste_mask` over only the frame pixels the patch can reach: ((x0, y0), (h, w) float32 region).

    The region equals paste_mask(...)[y0:y0 + h, x0:x0 + w] bit for bit, and paste_mask is -1 outside it,
    at a fraction of the cost on large frames. OpenCV's warpAffine rounds source coordinates to 1/32 px in
    fixed point from whole-frame pixel indices (so warping a shifted sub-image differs), hence those same
    fixed-point coordinates are computed here for the region's pixels and handed to cv2.remap, which is
    what warpAffine runs on them. tests/test_crops.py checks the equality on random boxes.
    """
    width, height = frame_wh
    forward = _paste_mapping(mask_patch.shape[0], patch_box_xywh, frame_wh)
    # Bilinear sampling reaches the frame where the source coordinate lies in (-1, P); 2 px margin.
    reach = np.array([-1.0, float(mask_patch.shape[0])])
    x_range = forward[0] * reach + forward[2]
    y_range = forward[4] * reach + forward[5]
    x0, x1 = (min(max(int(v), 0), width) for v in (math.floor(x_range[0]) - 2, math.ceil(x_range[1]) + 3))
    y0, y1 = (min(max(int(v), 0), height) for v in (math.floor(y_range[0]) - 2, math.ceil(y_range[1]) + 3))
    if x0 >= x1 or y0 >= y1:
        return (0, 0), np.empty((0, 0), np.float32)
    # warpAffine's inversion of the forward map (imgwarp.cpp), in float64 with the same rounding. The map
    # has no rotation or shear (its off-diagonal terms are 0), so each axis is computed on its own.
    det = 1.0 / (forward[0] * forward[4])
    inverse_x, inverse_y = forward[4] * det, forward[0] * det
    offset_x, offset_y = -(inverse_x * forward[2]), -(inverse_y * forward[5])
    # Its fixed-point source coordinates: 10 fractional bits, 1/32 px table index, round half to even.
    scale, half_step = 1 << _AFFINE_BITS, (1 << _AFFINE_BITS) // _INTER_TAB_SIZE // 2
    shift = _AFFINE_BITS - _INTER_BITS
    source_x = (int(np.rint(offset_x * scale)) + half_step
                + np.rint(inverse_x * np.arange(x0, x1, dtype=np.float64) * scale).astype(np.int64)) >> shift
    source_y = (np.rint((inverse_y * np.arange(y0, y1, dtype=np.float64) + offset_y) * scale).astype(np.int64)
                + half_step) >> shift
    whole = np.empty((y1 - y0, x1 - x0, 2), np.int16)
    whole[..., 0] = np.clip(source_x >> _INTER_BITS, -32768, 32767)[None, :]
    whole[..., 1] = np.clip(source_y >> _INTER_BITS, -32768, 32767)[:, None]
    fraction = ((source_y & (_INTER_TAB_SIZE - 1)) * _INTER_TAB_SIZE).astype(np.uint16)[:, None] + \
        (source_x & (_INTER_TAB_SIZE - 1)).astype(np.uint16)[None, :]
    region = cv2.remap(mask_patch, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=-1)
    return (x0, y0), region


def frame_mask(mask_patch: np.ndarray, patch_box_xywh: tuple[float, float, float, float], frame_wh: tuple[int, int],
               threshold: float, fallback_xywh: tuple[float, float, float, float]):
    """The mask patch pasted into the frame, thresholded: ((H, W) bool mask, its boxes as `mask_boxes`
    gives them). Pasting and contours cover only the patch's region of the frame."""
    width, height = frame_wh
    (x0, y0), region = paste_mask_region(mask_patch, patch_box_xywh, frame_wh)
    mask = np.zeros((height, width), bool)
    if not region.size:
        return (mask, *mask_boxes(np.zeros((1, 1), np.uint8), fallback_xywh))
    inside = region > threshold
    mask[y0:y0 + region.shape[0], x0:x0 + region.shape[1]] = inside
    return (mask, *mask_boxes(inside.view(np.uint8), fallback_xywh, origin_xy=(x0, y0)))


def mask_boxes(mask: np.ndarray, fallback_xywh: tuple[float, float, float, float],
               min_area_px: float = 100.0, origin_xy: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, tuple[float, float, float, float] | None]:
    """The boxes of the largest outer contour of `mask` (H, W) uint8 0/1: its min-area rectangle as (4, 2)
    float64 corners and its axis-aligned bounds (x, y, w, h). When no contour is larger than
    `min_area_px` (no mask, or only specks): the fallback box's corners, and None. A mask that is a region
    of a larger frame gives frame coordinates with the region's top-left pixel as `origin_xy`."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE, offset=origin_xy)
    if contours:
        areas = [cv2.contourArea(c) for c in contours]
        best = int(np.argmax(areas))
        if areas[best] > min_area_px:
            outline = contours[best].reshape(-1, 2)
            corners = cv2.boxPoints(cv2.minAreaRect(outline)).astype(np.float64)
            return corners, tuple(float(v) for v in cv2.boundingRect(outline))
    x, y, w, h = fallback_xywh
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float64), None
