"""A tiny real training run: the loss goes down, the checkpoint resumes, exports and tracks."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from model.make_sim_dataset import SOURCE_SHAPES, make_dataset
from model.train import TrainingConfig, main, train
from qgis_siammask.core.cli import main as cli_main
from qgis_siammask.core.tracking.network.backbone_light import LIGHT_BACKBONE, LightResNet
from qgis_siammask.core.tracking.network.checkpoint import stored_model_config


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    torch.set_num_threads(2)
    root = tmp_path_factory.mktemp("train")
    data = make_dataset(root / "data", clips=4, seed=11, source=SOURCE_SHAPES, frames=8)
    cfg = TrainingConfig(data=data, out=root / "run", epochs=3, samples_per_epoch=24, batch_size=8,
                         learning_rate=3e-3, validation_fraction=0.25, validation_samples=4, seed=3,
                         threads=2, progress=False, export=root / "model.pt")
    return cfg, train(cfg, log=lambda message: None)


def test_light_backbone_has_the_resnet50_feature_sizes():
    trunk = LightResNet()
    assert [tuple(t.shape[-2:]) for t in trunk(torch.zeros(1, 3, 255, 255))] == [(125, 125), (63, 63), (31, 31), (31, 31)]
    assert [tuple(t.shape[-2:]) for t in trunk(torch.zeros(1, 3, 127, 127))] == [(61, 61), (31, 31), (15, 15), (15, 15)]


def test_loss_goes_down_and_validation_is_measured(tiny_run):
    cfg, result = tiny_run
    losses = [h.loss for h in result.history]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert all(0.0 <= h.val_box_iou <= 1.0 and 0.0 <= h.val_mask_iou <= 1.0 for h in result.history)
    saved = json.loads((cfg.out / "history.json").read_text())
    assert [h["loss"] for h in saved] == losses


def test_checkpoint_is_official_format_and_resumes(tiny_run):
    cfg, result = tiny_run
    payload = torch.load(result.last_checkpoint, map_location="cpu", weights_only=True)
    assert "features.features.conv1.weight" in payload["state_dict"]
    assert "refine_model.deconv.weight" in payload["state_dict"]
    assert stored_model_config(result.last_checkpoint).backbone == LIGHT_BACKBONE
    resumed = train(TrainingConfig(**{**cfg.__dict__, "epochs": 4, "resume": result.last_checkpoint,
                                      "samples_per_epoch": 8, "export": None}), log=lambda m: None)
    assert [h.epoch for h in resumed.history] == [0, 1, 2, 3]
    assert torch.load(resumed.last_checkpoint, weights_only=True)["epoch"] == 3


def test_exported_model_tracks(tiny_run):
    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    cfg, result = tiny_run
    assert result.exported.is_file() and result.exported.stat().st_size < 20e6
    clip = sorted((cfg.data / "JPEGImages").iterdir())[0]
    frames = [cv2.imread(str(p)) for p in sorted(clip.glob("*.jpg"))[:4]]
    ids = cv2.imread(str(cfg.data / "Annotations" / clip.name / "00000.png"), cv2.IMREAD_GRAYSCALE)
    ys, xs = np.nonzero(ids == 1)
    tracker = SiamMaskTracker(str(result.exported), device="cpu")
    assert tracker.model_info.backbone == LIGHT_BACKBONE
    tracks = tracker.init(frames[0], [(xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1)])
    for frame in frames[1:]:
        tracks = tracker.update(frame)
        assert len(tracks) == 1 and np.isfinite(tracks[0].bbox_xywh).all()
        assert tracks[0].mask.shape == frame.shape[:2]


def test_export_command_line_exports_a_trained_light_checkpoint(tiny_run, tmp_path):
    from qgis_siammask.core.tracking.model_file import load_model

    _, result = tiny_run
    out = tmp_path / "light.pt"
    assert cli_main(["models", "convert", str(result.best_checkpoint), "--out", str(out), "--lr", "0.5"]) == 0
    _, metadata = load_model(out)
    assert (metadata.config.backbone, metadata.config.lr) == (LIGHT_BACKBONE, 0.5)


def test_cli_reports_a_bad_dataset(tmp_path, capsys):
    assert main(["--data", str(tmp_path), "--layout", "davis", "--out", str(tmp_path / "o")]) == 2
    assert "not a DAVIS dataset" in capsys.readouterr().err
