"""Tracker behaviour: bad boxes, targets leaving the frame, lost status, batching, model files, the CLI."""
from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest

from qgis_siammask.core.definitions import STATUS_LOST, STATUS_TRACKING
from qgis_siammask.core.errors import ModelError, TrackerError
from qgis_siammask.core.output.jsonl_format import mask_to_rle, rle_to_mask
from qgis_siammask.core.tracking.tracker import SiamMaskTracker

TENNIS = "data/tracking/tennis/JPEGImages"


@pytest.fixture(scope="module")
def frames(shared_dir):
    paths = sorted((shared_dir / TENNIS).glob("*.jpg"))[:4]
    return [cv2.imread(str(p)) for p in paths]


@pytest.fixture(scope="module")
def tracker(seeded_model_path):
    return SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2)


@pytest.mark.parametrize("box, message", [
    ((10, 10, 0, 20), "zero or negative"), ((10, 10, -5, 20), "zero or negative"),
    ((900, 10, 30, 30), "outside"), ((-100, -100, 50, 50), "outside"), ((1, 2, 3), "four numbers"),
    ((1, float("nan"), 3, 4), "non-finite"),
])
def test_bad_boxes_raise_clear_errors(tracker, frames, box, message):
    with pytest.raises(TrackerError, match=message):
        tracker.init(frames[0], [box], reset=True)


def test_bad_frames_and_ids_raise(tracker, frames):
    with pytest.raises(TrackerError, match="uint8"):
        tracker.init(frames[0].astype(np.float32), [(10, 10, 20, 20)], reset=True)
    tracker.init(frames[0], [(300, 100, 100, 100)], reset=True)
    with pytest.raises(TrackerError, match="size changed"):
        tracker.update(frames[1][:200])
    with pytest.raises(TrackerError, match="no target"):
        tracker.set_target_state(99, (1, 1), (5, 5))


def test_given_track_ids_are_kept_and_fresh_ids_follow_them(tracker, frames):
    """A track continued from an earlier run keeps its id; a box added later gets one above the highest."""
    tracks = tracker.init(frames[0], [(306, 114, 162, 246), (600, 300, 80, 60)], reset=True, track_ids=(4, 2))
    assert [t.track_id for t in tracks] == [4, 2]
    assert [t.track_id for t in tracker.update(frames[1])] == [4, 2]
    assert [t.track_id for t in tracker.init(frames[1], [(5, 5, 40, 40)])] == [5]
    for ids, box_count in (((2,), 1), ((7, 7), 2), ((8,), 2)):  # in use, twice, one id for two boxes
        with pytest.raises(TrackerError, match="track ids"):
            tracker.init(frames[1], [(5, 5, 40, 40)] * box_count, track_ids=ids)
    assert [t.track_id for t in tracker.targets] == [4, 2, 5]


def test_batched_targets_match_single_targets(tracker, frames):
    boxes = [(306, 114, 162, 246), (600, 300, 80, 60), (5, 5, 40, 40)]
    tracker.init(frames[0], boxes, labels=["a", "b", "c"], reset=True)
    batched = [tracker.update(f) for f in frames[1:3]]
    for i, box in enumerate(boxes):
        tracker.init(frames[0], [box], reset=True)
        single = [tracker.update(f)[0] for f in frames[1:3]]
        for step in range(2):
            ours = batched[step][i]
            assert ours.label == "abc"[i] and ours.track_id == i + 1 and ours.age == step + 1
            np.testing.assert_allclose(ours.bbox_xywh, single[step].bbox_xywh, atol=0.05)
            assert ours.score == pytest.approx(single[step].score, abs=1e-4)
            assert ours.mask.shape == frames[0].shape[:2]


def test_target_leaving_the_frame_never_crashes(tracker, frames):
    height, width = frames[0].shape[:2]
    tracker.init(frames[0], [(width - 20, height - 20, 60, 60)], reset=True)  # partly outside
    tracker.set_target_state(1, (width + 500, -400), (50, 50))  # far outside: crop is all padding
    (track,) = tracker.update(frames[1])
    x, y, w, h = track.bbox_xywh
    assert 0 <= x + w / 2 <= width and 0 <= y + h / 2 <= height
    assert track.rotated_box.shape == (4, 2) and np.isfinite(track.rotated_box).all()


def test_low_scores_mark_a_track_lost_but_keep_it(seeded_model_path, frames):
    tracker = SiamMaskTracker(seeded_model_path, device="cpu", score_threshold=1.01, lost_after_frames=2)
    tracker.init(frames[0], [(306, 114, 162, 246)])
    statuses = [tracker.update(f)[0].status for f in frames[1:4]]
    assert statuses == [STATUS_TRACKING, STATUS_LOST, STATUS_LOST]
    assert len(tracker.targets) == 1
    tracker.score_threshold = 0.0
    assert tracker.update(frames[0])[0].status == STATUS_TRACKING


def test_model_file_errors(tmp_path, seeded_model_path):
    with pytest.raises(ModelError, match="not found"):
        SiamMaskTracker(tmp_path / "none.pt", device="cpu")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(ModelError, match="junk.pt"):
        SiamMaskTracker(junk, device="cpu")
    tracker = SiamMaskTracker(seeded_model_path, device="cpu")
    assert tracker.model_info.score_size == 25 and tracker.model_info.has_refine
    assert tracker.model_metadata.source_checkpoint == "siammask_seeded.pth"


def test_rle_round_trip():
    mask = np.zeros((5, 7), bool)
    mask[0, 0] = mask[2, 3:6] = mask[4, 6] = True
    rle = mask_to_rle(mask)
    assert rle["counts"][0] == 0
    np.testing.assert_array_equal(rle_to_mask(rle), mask)


def test_track_cli_writes_json_lines(shared_dir, seeded_model_path, tmp_path):
    from qgis_siammask.core.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    for path in sorted((shared_dir / TENNIS).glob("*.jpg"))[:3]:
        shutil.copy(path, folder / path.name)
    out = tmp_path / "out" / "tracks.jsonl"
    code = main(["track", str(folder), "--model", str(seeded_model_path), "--box", "306,114,162,246",
                 "--box", "600,300,80,60", "--label", "player", "--label", "ball", "--out", str(out),
                 "--device", "cpu", "--threads", "2"])
    assert code == 0
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["frame"], r["track_id"]) for r in records] == [(f, t) for f in range(3) for t in (1, 2)]
    assert records[0]["label"] == "player" and records[1]["label"] == "ball"
    assert rle_to_mask(records[2]["mask"]).shape == (480, 854)
    assert main(["track", str(folder), "--model", str(seeded_model_path), "--box", "0,0,0,5",
                 "--out", str(tmp_path / "bad.jsonl"), "--device", "cpu"]) == 2
    assert main(["track", str(folder), "--model", str(seeded_model_path), "--box", "306,114,162,246",
                 "--out", str(tmp_path / "fp16.jsonl"), "--device", "cpu", "--precision", "fp16"]) == 2


def test_fp16_on_cpu_and_unknown_precisions_are_refused(seeded_model_path):
    with pytest.raises(TrackerError, match="needs a CUDA device"):
        SiamMaskTracker(seeded_model_path, device="cpu", precision="fp16")
    with pytest.raises(TrackerError, match="unknown precision"):
        SiamMaskTracker(seeded_model_path, device="cpu", precision="int4")


def test_bf16_steps_stay_close_to_fp32(seeded_model_path, frames):
    """One bf16 step from the fp32 state lands near the fp32 step (how far is in README: Speed)."""
    import torch

    if not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        pytest.skip("this CPU has no bf16 arithmetic (AVX512-BF16/AMX)")
    box = (306, 114, 162, 246)
    fp32 = SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2)
    bf16 = SiamMaskTracker(seeded_model_path, device="cpu", num_threads=2, precision="bf16")
    fp32.init(frames[0], [box])
    bf16.init(frames[0], [box])
    for frame in frames[1:]:
        state = fp32.targets[0]
        bf16.set_target_state(1, state.center_xy, state.size_wh)
        (exact,), (fast,) = fp32.update(frame), bf16.update(frame)
        assert fast.mask.dtype == bool and abs(fast.score - exact.score) < 0.05
        size = np.hypot(*fp32.targets[0].size_wh)
        assert np.hypot(*(bf16.targets[0].center_xy - fp32.targets[0].center_xy)) < 0.05 * size
