"""Training pairs: dataset layouts, the tracker's crop geometry, anchor labels."""
from __future__ import annotations

import json
import math

import cv2
import numpy as np
import pytest

from model.dataset import PairSamplingConfig, SiamMaskPairs, context_size, index_dataset, split_tracks
from model.make_sim_dataset import SOURCE_SHAPES, make_dataset
from model.targets import AnchorTargetConfig, anchor_iou, anchor_targets, decode_deltas, make_anchors
from qgis_siammask.core.errors import InputFileError


@pytest.fixture(scope="module")
def shapes_root(tmp_path_factory):
    return make_dataset(tmp_path_factory.mktemp("shapes"), clips=3, seed=7, source=SOURCE_SHAPES, frames=8)


def test_youtubevos_layout_is_indexed_from_meta(shapes_root):
    meta = json.loads((shapes_root / "meta.json").read_text())
    tracks = index_dataset(shapes_root, "youtubevos")
    assert len(tracks) == sum(len(v["objects"]) for v in meta["videos"].values()) >= 3
    assert all(p.is_file() for t in tracks for p in t.image_paths + t.mask_paths)


def test_davis_layout_single_sequence_with_binary_masks(tmp_path):
    (tmp_path / "JPEGImages").mkdir()
    (tmp_path / "Annotations").mkdir()
    for i in range(3):
        cv2.imwrite(str(tmp_path / "JPEGImages" / f"{i:05d}.jpg"), np.full((60, 80, 3), 90, np.uint8))
        mask = np.zeros((60, 80), np.uint8)
        mask[20:40, 10 + i:40 + i] = 255
        cv2.imwrite(str(tmp_path / "Annotations" / f"{i:05d}.png"), mask)
    tracks = index_dataset(tmp_path, "davis")
    assert [(t.object_id, len(t.image_paths)) for t in tracks] == [(255, 3)]


def test_wrong_layout_names_the_folder(tmp_path):
    with pytest.raises(InputFileError, match="meta.json"):
        index_dataset(tmp_path, "youtubevos")
    with pytest.raises(InputFileError, match="unknown dataset layout"):
        index_dataset(tmp_path, "coco")


def test_unaugmented_exemplar_matches_tracker_context_geometry(shapes_root):
    """Without jitter the target fills w * 127 / s_z of the exemplar, centred, as in the tracker."""
    tracks = index_dataset(shapes_root, "youtubevos")
    cfg = PairSamplingConfig(exemplar_shift_px=0, exemplar_scale=0, search_shift_px=0, search_scale=0,
                             blur_probability=0, gray_probability=0, negative_probability=0)
    pairs = SiamMaskPairs(tracks, 4, cfg, AnchorTargetConfig(), seed=3)
    for i in range(4):
        sample = pairs[i]
        x1, y1, x2, y2 = sample["search_box"]
        assert abs((x1 + x2) / 2 - 127) < 0.51 and abs((y1 + y2) / 2 - 127) < 0.51
        # the search crop is s_x = s_z * 255 / 127, so the box is w * 127 / s_z wide, like in the exemplar
        w, h = x2 - x1, y2 - y1
        scale = 127 / context_size(w, h, 0.5)
        assert scale == pytest.approx(1.0, abs=0.02)
        inside = sample["search_mask"][0, int(y1):int(math.ceil(y2)), int(x1):int(math.ceil(x2))] > 0
        assert inside.sum() / (sample["search_mask"] > 0).sum() > 0.97


def test_positive_labels_have_high_iou_and_decode_to_the_box(shapes_root):
    tracks = index_dataset(shapes_root, "youtubevos")
    cfg = PairSamplingConfig(negative_probability=0.0)
    targets = AnchorTargetConfig()
    anchors = make_anchors(targets)
    pairs = SiamMaskPairs(tracks, 6, cfg, targets, seed=5)
    for i in range(6):
        s = pairs[i]
        assert s["exemplar"].shape == (3, 127, 127) and s["search"].shape == (3, 255, 255)
        assert s["label_cls"].shape == (5, 25, 25)
        positive = s["label_cls"] == 1
        assert 0 < positive.sum() <= 16 and (s["label_cls"] >= 0).sum() <= 64
        assert (anchor_iou(anchors, s["search_box"])[positive] > 0.6).all()
        decoded = decode_deltas(anchors, s["label_delta"])[positive]
        np.testing.assert_allclose(decoded, np.broadcast_to(s["search_box"], decoded.shape), atol=1e-3)
        assert s["mask_weight"].sum() == positive.any(axis=0).sum()


def test_negative_pair_labels_only_central_negatives():
    targets = AnchorTargetConfig()
    labels = anchor_targets(make_anchors(targets), np.zeros(4), targets, np.random.default_rng(0), negative=True)
    assert (labels.cls == 1).sum() == 0 and (labels.cls == 0).sum() == 16
    assert (labels.cls[:, :9, :] == -1).all() and labels.delta_weight.sum() == 0


def test_items_are_reproducible_and_validation_split_is_by_video(shapes_root):
    tracks = index_dataset(shapes_root, "youtubevos")
    a = SiamMaskPairs(tracks, 2, PairSamplingConfig(), AnchorTargetConfig(), seed=9)[1]
    b = SiamMaskPairs(tracks, 2, PairSamplingConfig(), AnchorTargetConfig(), seed=9)[1]
    np.testing.assert_array_equal(a["search"], b["search"])
    train, val = split_tracks(tracks, 0.34, seed=0)
    assert train and val and not {t.video for t in train} & {t.video for t in val}
