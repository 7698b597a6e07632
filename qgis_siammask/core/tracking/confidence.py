"""When has a track lost its target? A rule that works for any SiamMask model, not just a score threshold.

A network's raw score says little on its own: a model can keep scoring 0.84-1.00 on background once its
target is gone, while another scores 0.3 on a target it follows well. So each track is judged against
its own recent past as well. A frame is a *doubt* when

- its score is under the absolute `score_threshold` (counted: `lost_after_frames` in a row make the
  track lost, as before), or, judged at once:
- its score fell under `relative_score` times the median of the track's recent confident scores;
- its mask area jumped: outside [1 / `area_jump`, `area_jump`] times the median of its recent confident
  areas (scaled by the expected zoom change, when the caller knows it), or the mask vanished;
- the target is out of the image: its predicted or tracked centre lies outside the frame.

The relative checks need `min_history_frames` confident frames first. A frame is *steady* when it is
no doubt and its mask area is within `steady_area_change` of the reference too: a target sliding under
a tree shrinks before it is lost, and its visible part's centre then lags; motion is learnt from
steady frames only (guidance.py). A lost track comes back to
"tracking" with the first frame without doubt; the references only learn from such frames, so a
distractor followed while lost never becomes the norm.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from ..definitions import DEFAULT_SCORE_THRESHOLD, STATUS_LOST, STATUS_TRACKING


@dataclass(frozen=True)
class ConfidenceRule:
    """The thresholds of the lost rule (see the module docstring)."""

    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    lost_after_frames: int = 5
    relative_score: float = 0.5
    area_jump: float = 2.5
    history_frames: int = 10
    min_history_frames: int = 3
    steady_area_change: float = 1.25


@dataclass(frozen=True)
class FrameEvidence:
    """What one tracked frame says about a target: score, mask area (px, None without a mask branch),
    the expected linear size change since the last frame (zoom, range) and whether it is in view."""

    score: float
    mask_area_px: float | None = None
    scale: float = 1.0
    in_view: bool = True


class TrackConfidence:
    """One target's recent confident scores and mask areas, and its verdict: tracking or lost."""

    def __init__(self, history_frames: int = ConfidenceRule.history_frames):
        self.status = STATUS_TRACKING
        self.low_score_frames = 0
        self.doubt = False  # the last frame was doubtful (its position is not to be trusted)
        self.steady = True  # the last frame agreed closely with the recent ones
        self._scores: deque = deque(maxlen=history_frames)
        self._areas: deque = deque(maxlen=history_frames)

    def judge(self, evidence: FrameEvidence, rule: ConfidenceRule) -> str:
        """Update the verdict with one frame's evidence under `rule`; returns the status."""
        if evidence.scale != 1.0:  # the references follow the zoom
            self._areas = deque((a * evidence.scale ** 2 for a in self._areas), maxlen=self._areas.maxlen)
        self.low_score_frames = self.low_score_frames + 1 if evidence.score < rule.score_threshold else 0
        strong_doubt = not evidence.in_view or self._relative_doubt(evidence, rule)
        self.doubt = strong_doubt or self.low_score_frames > 0
        if strong_doubt or self.low_score_frames >= rule.lost_after_frames:
            self.status = STATUS_LOST
        elif not self.doubt:
            self.status = STATUS_TRACKING
        self.steady = not self.doubt and self._area_within(evidence, rule.steady_area_change, rule)
        if not self.doubt:
            self._scores.append(evidence.score)
            if evidence.mask_area_px is not None:
                self._areas.append(evidence.mask_area_px)
        return self.status

    def _relative_doubt(self, evidence: FrameEvidence, rule: ConfidenceRule) -> bool:
        if len(self._scores) < rule.min_history_frames:
            return False
        if evidence.score < rule.relative_score * float(np.median(self._scores)):
            return True
        return not self._area_within(evidence, rule.area_jump, rule)

    def _area_within(self, evidence: FrameEvidence, change: float, rule: ConfidenceRule) -> bool:
        """The mask area is within a factor `change` of the reference (True while either is unknown)."""
        if evidence.mask_area_px is None or len(self._areas) < rule.min_history_frames:
            return True
        expected = float(np.median(self._areas))
        return expected / change <= evidence.mask_area_px <= expected * change
