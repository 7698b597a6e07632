"""Mask -> boxes: the rotated box and the reported axis-aligned box come from the mask's largest part."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from qgis_siammask.core.tracking.crops import mask_boxes, paste_mask, paste_mask_region


def test_boxes_follow_the_largest_part_and_ignore_specks():
    mask = np.zeros((200, 300), np.uint8)
    corners = cv2.boxPoints(((150.0, 100.0), (120.0, 40.0), 30.0))
    cv2.fillPoly(mask, [np.round(corners).astype(np.int32)], 1)
    mask[5:9, 5:9] = 1  # a 16 px speck far away
    rotated, bbox = mask_boxes(mask, (0.0, 0.0, 10.0, 10.0))
    ys, xs = np.nonzero(mask[20:, 20:])
    assert bbox == pytest.approx((xs.min() + 20, ys.min() + 20, np.ptp(xs) + 1, np.ptp(ys) + 1))
    side_lengths = sorted(np.linalg.norm(rotated - np.roll(rotated, 1, axis=0), axis=1))
    assert side_lengths[0] == pytest.approx(40, abs=2) and side_lengths[-1] == pytest.approx(120, abs=2)


def test_no_usable_mask_gives_the_fallback_corners_and_no_box():
    mask = np.zeros((50, 50), np.uint8)
    mask[10:15, 10:15] = 1  # 25 px: below the 100 px minimum area
    rotated, bbox = mask_boxes(mask, (1.0, 2.0, 3.0, 4.0))
    assert bbox is None
    np.testing.assert_array_equal(rotated, [[1, 2], [4, 2], [4, 6], [1, 6]])


@pytest.mark.parametrize("seed", range(2))
def test_pasting_over_the_patch_region_equals_the_whole_frame_paste(seed):
    """paste_mask_region reproduces warpAffine's fixed-point rounding: equal bit for bit, -1 elsewhere."""
    rng = np.random.default_rng(seed)
    width, height = 1920, 1080
    for _ in range(25):
        patch = rng.random((127, 127), dtype=np.float32)
        side = rng.uniform(5, 900)
        box = (rng.uniform(-side, width), rng.uniform(-side, height), side, side)
        full = paste_mask(patch, box, (width, height))
        (x0, y0), region = paste_mask_region(patch, box, (width, height))
        rebuilt = np.full_like(full, -1)
        rebuilt[y0:y0 + region.shape[0], x0:x0 + region.shape[1]] = region
        np.testing.assert_array_equal(rebuilt, full)
        assert region.size < full.size / 2 or side > 500


def test_boxes_of_a_mask_region_are_those_of_the_whole_frame():
    mask = np.zeros((300, 400), np.uint8)
    cv2.fillPoly(mask, [np.round(cv2.boxPoints(((250.0, 150.0), (90.0, 30.0), 20.0))).astype(np.int32)], 1)
    whole = mask_boxes(mask, (0.0, 0.0, 1.0, 1.0))
    region = mask_boxes(np.ascontiguousarray(mask[100:220, 180:330]), (0.0, 0.0, 1.0, 1.0), origin_xy=(180, 100))
    np.testing.assert_array_equal(region[0], whole[0])
    assert region[1] == whole[1]
