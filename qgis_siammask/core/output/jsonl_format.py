"""The JSON-lines record of one track on one frame, written by the `track` command and pixel runs
(`pixel_job`) and read back by `frame_reader.PixelRecords`.

A record: frame, track_id, label, bbox [x, y, w, h], rotated_box [[x, y] x 4], score, status, and the
mask as run-length encoding {"size": [H, W], "counts": [...]} (row-major, alternating runs of 0 and 1
starting with 0).
"""
from __future__ import annotations

import numpy as np

from ..definitions import FIELD_FRAME, FIELD_LABEL, FIELD_SCORE, FIELD_STATUS, FIELD_TRACK_ID


def mask_to_rle(mask: np.ndarray) -> dict:
    """(H, W) bool -> {"size": [H, W], "counts": run lengths, row-major, first run of zeros}."""
    flat = mask.ravel().astype(np.int8)
    changes = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate(([0], changes, [flat.size]))
    counts = np.diff(bounds).tolist()
    if flat.size and flat[0]:
        counts.insert(0, 0)
    return {"size": [int(mask.shape[0]), int(mask.shape[1])], "counts": counts}


def rle_to_mask(rle: dict) -> np.ndarray:
    height, width = rle["size"]
    values = np.arange(len(rle["counts"])) % 2
    return np.repeat(values, rle["counts"]).astype(bool).reshape(height, width)


def track_record(frame_index: int, track) -> dict:
    return {
        FIELD_FRAME: frame_index, FIELD_TRACK_ID: track.track_id, FIELD_LABEL: track.label,
        "bbox": [round(v, 3) for v in track.bbox_xywh],
        "rotated_box": np.round(track.rotated_box, 3).tolist(),
        FIELD_SCORE: round(track.score, 6), FIELD_STATUS: track.status,
        "mask": mask_to_rle(track.mask) if track.mask is not None else None,
    }
