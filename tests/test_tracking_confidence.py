"""The lost rule: a track says when it has lost its target, whatever the model's scores look like."""
from __future__ import annotations

import numpy as np
import pytest

from qgis_siammask.core.definitions import STATUS_LOST, STATUS_TRACKING
from qgis_siammask.core.tracking.confidence import ConfidenceRule, FrameEvidence, TrackConfidence

RULE = ConfidenceRule()


def _judge_all(evidence: list[FrameEvidence]) -> list[str]:
    confidence = TrackConfidence()
    return [confidence.judge(e, RULE) for e in evidence]


def test_a_model_scoring_high_on_background_is_caught_by_its_mask_area():
    # scores stay 0.84-1.00 after the target is gone (as a demo model does on real video); the mask does not
    steady = [FrameEvidence(0.97, 400.0)] * 6
    gone = [FrameEvidence(0.9, 2500.0), FrameEvidence(0.86, 60.0), FrameEvidence(0.88, 0.0)]
    assert _judge_all(steady + gone) == [STATUS_TRACKING] * 6 + [STATUS_LOST] * 3


def test_a_score_far_under_the_tracks_own_is_lost_at_once_even_above_the_threshold():
    evidence = [FrameEvidence(0.98, 400.0)] * 5 + [FrameEvidence(0.4, 400.0), FrameEvidence(0.97, 410.0)]
    statuses = _judge_all(evidence)
    assert statuses == [STATUS_TRACKING] * 5 + [STATUS_LOST, STATUS_TRACKING]


def test_zoom_is_not_a_jump_when_the_caller_says_so():
    frames = [FrameEvidence(0.95, 400.0)] * 5
    zoomed = [FrameEvidence(0.95, 400.0 * 1.3 ** (2 * k), scale=1.3) for k in range(1, 5)]
    assert _judge_all(frames + zoomed) == [STATUS_TRACKING] * 9
    unexplained = [FrameEvidence(0.95, 400.0 * 1.3 ** (2 * k)) for k in range(1, 5)]
    assert STATUS_LOST in _judge_all(frames + unexplained)


def test_absolute_threshold_still_counts_frames_and_out_of_view_is_lost():
    low = [FrameEvidence(0.1)] * 5
    assert _judge_all(low) == [STATUS_TRACKING] * 4 + [STATUS_LOST]
    assert _judge_all([FrameEvidence(0.99, in_view=False)]) == [STATUS_LOST]


@pytest.fixture(scope="module")
def leaving_clip(tmp_path_factory):
    """A low nadir clip where vehicle 2 drives out of the frame (the camera follows the traffic's mean
    speed, and the other vehicle goes the other way): frames, its true areas, its first box."""
    from qgis_siammask.core.ingest.video import VideoReader
    from qgis_siammask.core.simulator import SimulationConfig, simulate

    simulation = simulate(SimulationConfig(out_dir=tmp_path_factory.mktemp("leave"), seed=5, frames=34,
                                           vehicle_count=2, vehicle_speed_range_mps=(7.0, 9.0),
                                           platform_wobble_deg=0.5, altitude_agl_m=60.0))
    with VideoReader(simulation.video_path) as video:
        frames = [frame.image for frame in video]
    areas = (np.load(simulation.masks_path)["labels"] == 2).sum(axis=(1, 2))
    box = next(v["box_xywh"] for v in simulation.frames[0]["vehicles"] if v["vehicle_id"] == 2)
    return frames, areas, box


def test_a_target_leaving_the_frame_is_marked_lost(leaving_clip, default_model_path):
    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    frames, areas, box = leaving_clip
    assert areas[0] > 300 and areas[-1] == 0  # the clip does what the test needs
    tracker = SiamMaskTracker(default_model_path, device="cpu")
    tracker.init(frames[0], [box])
    statuses = [tracker.update(frame)[0].status for frame in frames[1:]]
    visible = areas[1:] > 0.8 * areas[0]
    gone = areas[1:] == 0
    assert all(s == STATUS_TRACKING for s, v in zip(statuses, visible) if v)
    assert all(s == STATUS_LOST for s, g in zip(statuses, gone) if g)
