"""torch.export archives (`.pt2`): the same network and metadata as the TorchScript file, listed without
torch, tracking tennis exactly as the `.pt` does, any number of targets, and clear errors where this
torch cannot read the archive."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest

from qgis_siammask.core.errors import ModelError
from qgis_siammask.core.models.install import list_models
from qgis_siammask.core.tracking.network.config import ModelMetadata

REPO_ROOT = Path(__file__).resolve().parent.parent
TENNIS = "data/tracking/tennis/JPEGImages"
# the parity tolerances of test_tracker_parity (pixels, score, mask IoU)
TOLERANCES = {"center": 0.5, "size": 0.5, "corner": 1.0, "score": 1e-3}


@pytest.fixture(scope="module")
def light_pair(default_model_path, tmp_path_factory):
    """(the shipped light .pt, the same model converted to .pt2 by `models convert`) in one model folder."""
    pytest.importorskip("torch.export.pt2_archive", reason="torch.export archives need torch >= 2.8")
    from qgis_siammask.core.commands import models

    folder = tmp_path_factory.mktemp("models")
    pt, pt2 = folder / "light.pt", folder / "light_export.pt2"
    pt.write_bytes(default_model_path.read_bytes())
    parser = argparse.ArgumentParser()
    models.add_arguments(parser)
    assert models.run(parser.parse_args(["convert", str(pt), "--out", str(pt2)])) == 0
    return pt, pt2


def test_the_archive_carries_the_metadata_read_and_listed_without_torch(light_pair):
    import torch

    pt, pt2 = light_pair
    from_pt, from_pt2 = ModelMetadata.read(pt), ModelMetadata.read(pt2)
    assert from_pt2.config == from_pt.config and from_pt2.source_sha256 == from_pt.source_sha256
    assert from_pt2.written_by_torch == torch.__version__
    script = f"""
import sys, json
sys.modules["torch"] = None  # import torch would fail
from qgis_siammask.core.models.install import list_models
from pathlib import Path
models = list_models(Path({str(pt.parent)!r}), include_bundled=False)
print(json.dumps([[m.path.name, m.file_format, m.metadata.config.backbone] for m in models]))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True,
                         check=True)
    backbone = from_pt.config.backbone
    assert json.loads(out.stdout) == [["light.pt", "TorchScript", backbone],
                                      ["light_export.pt2", "torch.export", backbone]]
    assert [m.name for m in list_models(pt.parent, include_bundled=False)] == ["light", "light_export"]


@pytest.mark.parametrize("targets", [1, 3, 33])
def test_every_entry_point_matches_the_torchscript_file_for_any_target_count(light_pair, targets):
    import torch

    from qgis_siammask.core.tracking.exported_model import ExportedNet
    from qgis_siammask.core.tracking.model_file import load_model

    (scripted, _), (exported, _) = load_model(light_pair[0]), load_model(light_pair[1])
    assert isinstance(exported, ExportedNet)
    generator = torch.Generator().manual_seed(targets)
    exemplar = torch.rand(targets, 3, 127, 127, generator=generator) * 255
    search = torch.rand(targets, 3, 255, 255, generator=generator) * 255
    cells = torch.randint(0, 25, (targets, 2), generator=generator)
    with torch.no_grad():
        ours = [exported.template(exemplar)]
        ours += exported(search, ours[0])
        ours.append(exported.refine_mask(*ours[3:], cells))
        theirs = [scripted.template(exemplar)]
        theirs += scripted(search, theirs[0])
        theirs.append(scripted.refine_mask(*theirs[3:], cells))
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape and torch.allclose(a, b, rtol=0, atol=1e-5), float((a - b).abs().max())


def test_loading_the_archive_and_converting_it_back_warn_nothing(light_pair, tmp_path):
    import torch

    from qgis_siammask.core.models.install import convert_model_file
    from qgis_siammask.core.tracking.model_file import load_model

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        load_model(light_pair[1])
        back = convert_model_file(light_pair[1], tmp_path / "back.pt")  # .pt2 -> .pt, same weights
    assert [str(w.message) for w in caught] == []  # neither the load nor torch.jit.script/save's warnings
    original, again = load_model(light_pair[0])[0].state_dict(), load_model(back)[0].state_dict()
    assert original.keys() == again.keys() and all(torch.equal(original[k], again[k]) for k in original)


def test_an_archive_this_torch_cannot_read_names_the_file_and_the_torch_needed(light_pair, monkeypatch):
    import torch

    from qgis_siammask.core.tracking.model_file import load_model

    written = ModelMetadata.read(light_pair[1]).written_by_torch
    monkeypatch.setattr(torch, "__version__", "2.4.1")
    monkeypatch.setitem(sys.modules, "torch.export.pt2_archive._package", None)  # as in torch < 2.8
    with pytest.raises(ModelError) as raised:
        load_model(light_pair[1])
    message = raised.value.user_message
    assert message.startswith(f"{light_pair[1]}: ") and f"written by torch {written}" in message
    release = ".".join(written.split(".")[:2])  # e.g. 2.13
    assert f"needs torch {release} or newer" in message and "this is torch 2.4.1" in message
    assert "TorchScript file (.pt)" in message


def test_a_damaged_archive_is_a_clear_error(light_pair, tmp_path):
    from qgis_siammask.core.tracking.model_file import load_model

    damaged = tmp_path / "damaged.pt2"
    data = light_pair[1].read_bytes()
    damaged.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelError, match="damaged.pt2: not a SiamMask TorchScript model or torch.export"):
        load_model(damaged)
    (tmp_path / "junk.pt2").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="junk.pt2: "):
        load_model(tmp_path / "junk.pt2")


def free_run(model_path: Path, shared_dir: Path) -> list:
    """Every tennis frame tracked from the first box with no help: [(centre, size, score, corners, mask)]."""
    from qgis_siammask.core.tracking.tracker import SiamMaskTracker

    fixture = shared_dir / "fixtures" / "parity" / "tennis"
    sequence = json.loads((fixture / "sequence.json").read_text())
    frames = [shared_dir / TENNIS / name for name in sequence["frames"]]
    tracker = SiamMaskTracker(model_path, device="cpu", num_threads=2)
    tracker.init(cv2.imread(str(frames[0])), [sequence["init_box_xywh"]], reset=True)
    states = []
    for frame in frames[1:]:
        (track,) = tracker.update(cv2.imread(str(frame)))
        target = tracker.targets[0]
        states.append((target.center_xy.copy(), target.size_wh.copy(), track.score, track.rotated_box,
                       track.mask))
    return states


def test_pt2_and_pt_free_run_tennis_alike(shared_dir, seeded_model_path, seeded_export_path):
    """The parity fixture's network, exported both ways, followed over all of tennis with no teacher: the
    same track on every frame within the parity tolerances (measured on torch 2.13 CPU: identical)."""
    from test_tracker_parity import corner_distance

    pt, pt2 = free_run(seeded_model_path, shared_dir), free_run(seeded_export_path, shared_dir)
    assert len(pt) == len(pt2) == 69
    worst = {"center": 0.0, "size": 0.0, "corner": 0.0, "score": 0.0, "iou": 1.0}
    for frame, (a, b) in enumerate(zip(pt, pt2), start=1):
        union = np.count_nonzero(a[4] | b[4])
        errors = {"center": float(np.abs(a[0] - b[0]).max()), "size": float(np.abs(a[1] - b[1]).max()),
                  "score": abs(a[2] - b[2]), "corner": corner_distance(a[3], b[3]),
                  "iou": np.count_nonzero(a[4] & b[4]) / union if union else 1.0}
        within = all(errors[k] <= limit for k, limit in TOLERANCES.items()) and errors["iou"] >= 0.99
        assert within, (frame, errors)
        worst = {k: min(worst[k], errors[k]) if k == "iou" else max(worst[k], errors[k]) for k in worst}
    print(f"\ntennis free run, .pt2 against .pt over {len(pt)} frames: worst {worst}")
