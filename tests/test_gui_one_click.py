"""One-click start in the real dock: a mouse click (no drag) on a vehicle adds a box sized from the frame's
camera model and the object size in the settings, and the track it starts fits the vehicle."""

from __future__ import annotations

import json

import numpy as np
import pytest
from qgis.PyQt.QtCore import Qt


def _click(qtbot, view, x: float, y: float) -> None:
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=view.image_to_widget(x, y).toPoint())


def _car_target(result, targets):
    """(vehicle id, box) of the wholly visible vehicle closest to a car's 4.5 m length."""
    vehicles = json.loads(result.simulation_path.read_text())["vehicles"]
    lengths = {v["vehicle_id"]: v["length_m"] for v in vehicles}
    return min(targets, key=lambda target: abs(lengths[target[0]] - 4.5))


def test_a_click_on_a_vehicle_starts_a_track_that_fits_it(dock, clip, qtbot, tmp_path):  # noqa: F811
    result, targets = clip
    vehicle_id, (x, y, w, h) = _car_target(result, targets)
    assert dock.open_video(str(result.video_path))
    _click(qtbot, dock.frame_view, x + w / 2, y + h / 2)
    assert len(dock.boxes) == 1
    clicked = np.array(dock.boxes[0].xywh)
    assert np.hypot(*(clicked[:2] + clicked[2:] / 2 - (x + w / 2, y + h / 2))) < 2.0  # centred on the click
    assert dock.track_button.isEnabled()

    assert dock.start_tracking(str(tmp_path / "click.gpkg")) is not None
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)
    assert dock.last_outcome.status == "success", dock.last_outcome.message
    first = dock.frame_features(1).tracks[0]  # the first tracked frame: the first mask tightened the box
    x0, y0, x1, y1 = first.box_px.bounds
    truth = next(v["box_xywh"] for v in result.frames[1]["vehicles"] if v["vehicle_id"] == vehicle_id)
    long_side, short_side = sorted((x1 - x0, y1 - y0), reverse=True)
    true_long, true_short = sorted(truth[2:], reverse=True)
    print(f"click box {clicked.round(1)}, first tracked box {x1 - x0:.1f} x {y1 - y0:.1f}, truth {truth[2:]}")
    assert long_side == pytest.approx(true_long, rel=0.3) and short_side == pytest.approx(true_short, rel=0.3)


def test_a_click_without_a_camera_model_says_so(dock, clip, qtbot):  # noqa: F811
    result, targets = clip
    _, (x, y, w, h) = targets[0]
    assert dock.open_video(str(result.video_path))
    dock.session.telemetry = None  # as for a video without telemetry
    dock.show_frame(0)
    _click(qtbot, dock.frame_view, x + w / 2, y + h / 2)
    assert dock.boxes == [] and "camera model" in dock.status_label.text()
