"""What a correction of a finished run tracks: the analyst's box on a frame re-seats a track or adds a
target, and the run's other tracks seen on that frame go on from their own boxes there.

Plain data in, plain data out (no widget, no layer), so the rule is testable alone.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..core.definitions import CORRECTION_ADD, CORRECTION_RESEAT, STATUS_LOST
from .dock_parts import tr
from .frame_view import DrawnBox


@dataclass(frozen=True)
class CorrectionPlan:
    """A continuation's boxes (DrawnBox, the corrected one first), their track ids, the core Correction
    to record, and a line for the status."""

    boxes: tuple[DrawnBox, ...]
    track_ids: tuple[int, ...]
    correction: object  # core.records.Correction
    text: str


def pixel_bbox(box_px) -> tuple[float, float, float, float]:
    """(x, y, width, height) around a track's rotated pixel box (a shapely Polygon)."""
    min_x, min_y, max_x, max_y = box_px.bounds
    return (min_x, min_y, max_x - min_x, max_y - min_y)


def plan_correction(
    frame_features, box: DrawnBox, track_id: int | None, labels: dict, known_ids
) -> CorrectionPlan:
    """Track `track_id` re-seated on `box` (None: `box` added as a target, its id one above the highest
    of `known_ids` and the frame's tracks), with every track of `frame_features` (core FrameFeatures of
    `box`'s frame, None when unknown) that is not lost there, from its box; `labels`: the analyst's
    label by track id (else the tracker's; a re-seated track's box's; "target N" for an added one)."""
    from ..core.records import Correction

    tracks = {t.track_id: t for t in frame_features.tracks} if frame_features is not None else {}
    live = {
        other: pixel_bbox(track.box_px)
        for other, track in tracks.items()
        if other != track_id and track.status != STATUS_LOST and track.box_px is not None
    }
    if track_id is None:
        track_id = max([*known_ids, *tracks], default=0) + 1
        correction = Correction(track_id, box.frame, CORRECTION_ADD, box.xywh)
        text = tr("Adding track {} from frame {}…").format(track_id, box.frame)
    else:
        before = tracks.get(track_id)
        previous = pixel_bbox(before.box_px) if before is not None and before.box_px is not None else None
        correction = Correction(track_id, box.frame, CORRECTION_RESEAT, box.xywh, previous)
        text = tr("Re-seating track {} from frame {}…").format(track_id, box.frame)
    # an added target is "target N" (its id), renamed in the tracks panel: the Label field belongs to the
    # Targets tab, hidden while the analyst works on Tracks
    label = tr("target {}").format(track_id) if correction.kind == CORRECTION_ADD else box.label
    boxes = [dataclasses.replace(box, label=labels.get(track_id, label))]
    boxes += [
        DrawnBox(*xywh, labels.get(other, tracks[other].label), box.frame) for other, xywh in live.items()
    ]
    return CorrectionPlan(tuple(boxes), (track_id, *live), correction, text)
