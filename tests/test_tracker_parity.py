"""Parity with the authors' SiamMask on ../shared/fixtures/parity (tennis and bag), teacher forced.

Before every frame the tracker state is set to the reference's `target_pos_in` / `target_sz_in`; the
single step's outputs must then match the reference on EVERY frame.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from qgis_siammask.core.tracking.tracker import SiamMaskTracker

SEQUENCES = {"tennis": "data/tracking/tennis/JPEGImages", "bag": "data/tracking/vot_bag/color"}


def corner_distance(reference: np.ndarray, ours: np.ndarray) -> float:
    """Largest distance from a corner of either box to the nearest corner of the other (order-free:
    OpenCV versions start minAreaRect's corners at different vertices)."""
    pairwise = np.abs(reference[:, None, :] - ours[None, :, :]).max(axis=2)  # per-axis pixels
    return float(max(pairwise.min(axis=1).max(), pairwise.min(axis=0).max()))


@pytest.fixture(scope="module")
def tracker(seeded_model_path):
    return SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2)


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_teacher_forced_every_frame_matches_reference(shared_dir, tracker, name):
    check_teacher_forced(tracker, shared_dir, name)


def check_teacher_forced(tracker: SiamMaskTracker, shared_dir, name: str, frame_count: int | None = None) -> None:
    """Teacher-forced parity on the first `frame_count` tracked frames (all when None) of sequence `name`."""
    fixture = shared_dir / "fixtures" / "parity" / name
    sequence = json.loads((fixture / "sequence.json").read_text())
    frames_dir = shared_dir / SEQUENCES[name]
    rows = [json.loads(line) for line in (fixture / "track.jsonl").read_text().splitlines() if line.strip()]
    rows = rows[:frame_count]
    first = cv2.imread(str(frames_dir / sequence["frames"][0]))
    (track,) = tracker.init(first, [sequence["init_box_xywh"]], labels=[name], reset=True)
    assert track.label == name
    np.testing.assert_array_equal(tracker.targets[0].exemplar, np.load(fixture / "raw.npz")["z_crop"])

    worst = {"center": 0.0, "size": 0.0, "score": 0.0, "corner": 0.0, "iou": 1.0}
    for row in rows:
        frame = cv2.imread(str(frames_dir / sequence["frames"][row["frame"]]))
        tracker.set_target_state(track.track_id, row["target_pos_in"], row["target_sz_in"])
        (result,) = tracker.update(frame)
        state = tracker.targets[0]
        reference_mask = cv2.imread(str(fixture / "masks" / f"{row['frame']:05d}.png"), cv2.IMREAD_GRAYSCALE) > 127
        union = np.count_nonzero(reference_mask | result.mask)
        iou = np.count_nonzero(reference_mask & result.mask) / union if union else 1.0
        errors = {
            "center": float(np.abs(state.center_xy - row["target_pos"]).max()),
            "size": float(np.abs(state.size_wh - row["target_sz"]).max()),
            "score": abs(result.score - row["score"]),
            "corner": corner_distance(np.asarray(row["polygon"]), result.rotated_box),
        }
        assert errors["center"] <= 0.5 and errors["size"] <= 0.5, (row["frame"], errors)
        assert errors["score"] <= 1e-3 and errors["corner"] <= 1.0, (row["frame"], errors)
        assert iou >= 0.99, (row["frame"], iou)
        x, y, w, h = result.bbox_xywh
        if np.count_nonzero(result.mask) > 400:  # the bounds of the mask's largest part: inside its rotated box
            low, high = result.rotated_box.min(axis=0), result.rotated_box.max(axis=0)
            assert low[0] - 1 <= x and low[1] - 1 <= y and x + w <= high[0] + 2 and y + h <= high[1] + 2
        elif not result.mask.any():  # no mask: the state's box
            assert (x + w / 2, y + h / 2) == pytest.approx(tuple(state.center_xy))
        worst = {k: (min(worst[k], iou) if k == "iou" else max(worst[k], errors[k])) for k in worst}
    print(f"\n{name}: {len(rows)} frames, worst {worst}")
