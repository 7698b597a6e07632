"""`python -m qgis_siammask demo`: a clear error without a model; a short offline run with a summary."""
from __future__ import annotations

import json

import pytest

from qgis_siammask.core import cli
from qgis_siammask.core.commands import demo


def test_missing_default_model_names_the_file_and_the_option(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "DEFAULT_MODEL_DIR", tmp_path / "model" / "default")
    assert cli.main(["demo", "--out", str(tmp_path / "out")]) == 2
    message = capsys.readouterr().err
    assert str(tmp_path / "model" / "default") in message and "--model" in message
    assert not (tmp_path / "out").exists()  # nothing simulated before the model is found


def test_missing_model_file_is_named(tmp_path, capsys):
    assert cli.main(["demo", "--out", str(tmp_path / "out"), "--model", str(tmp_path / "nope.pt")]) == 2
    assert str(tmp_path / "nope.pt") in capsys.readouterr().err


def test_short_demo_writes_a_geopackage_and_a_summary(tmp_path, capsys):
    if not sorted(demo.DEFAULT_MODEL_DIR.glob("*.pt")):
        pytest.skip(f"no default model in {demo.DEFAULT_MODEL_DIR} yet")
    assert cli.main(["demo", "--out", str(tmp_path), "--frames", "4", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "features per layer: masks" in printed and "ground error" in printed
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frames_tracked"] == 4
    assert summary["features_per_layer"]["points"] == 4 and summary["features_per_layer"]["footprints"] == 4
    assert summary["ground_error_m"]["frames"] == 4 and summary["ground_error_m"]["median"] < 5.0
    assert summary["ground_error_while_tracking_m"]["frames"] == 4  # no track is lost in 4 frames
    assert (tmp_path / "tracks.gpkg").is_file()
