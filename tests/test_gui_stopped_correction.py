"""Found by the randomized GUI tester: a correction stopped early (Re-seat, Stop) deleted the run's later
frames of every track it carried along; the run's file must keep them. Driven with Qt events on the dock."""

from __future__ import annotations

from qgis.PyQt.QtCore import Qt
from test_gui_dock import _click, _draw_box
from test_gui_reseat import _click_row, _corrections, _points, _wait_for_run
from test_plugin_support import GUI_CLIP_FRAMES


def _frames_by_track(gpkg) -> dict[int, list[int]]:
    frames = {}
    for track, frame in _points(gpkg):
        frames.setdefault(track, []).append(frame)
    return {track: sorted(found) for track, found in frames.items()}


def test_a_reseat_stopped_early_keeps_the_runs_later_frames(dock, clip, qtbot):
    result, targets = clip
    boxes = [
        {v["vehicle_id"]: tuple(v["box_xywh"]) for v in f["vehicles"] if v["box_xywh"]}
        for f in result.frames
    ]
    assert dock.open_video(str(result.video_path))
    (car, car_box), (van, van_box) = targets[:2]
    for label, box in (("car", car_box), ("van", van_box)):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    _click(qtbot, dock.track_button)
    run = _wait_for_run(qtbot, dock)
    assert run.status == "success", run
    every_frame = list(range(GUI_CLIP_FRAMES))
    assert _frames_by_track(run.gpkg_path) == {1: every_frame, 2: every_frame}

    dock.frame_view.setFocus()
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Home)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    qtbot.keyClick(dock.frame_view, Qt.Key.Key_Right)
    assert dock.frame_index == 2
    _click_row(qtbot, dock.tracks_panel.table, 0)  # track 1, the car
    _draw_box(qtbot, dock.frame_view, boxes[2][car])
    _click(qtbot, dock.tracks_panel.reseat_button)
    assert dock.task is not None
    dock.task.framesReady.connect(lambda: dock.stop_button.isEnabled() and _click(qtbot, dock.stop_button))
    stopped = _wait_for_run(qtbot, dock)
    assert stopped.status == "cancelled" and 1 <= stopped.frames_tracked < GUI_CLIP_FRAMES - 2, stopped

    # the frames the re-seat tracked are its own, the run's later ones are kept, for both tracks
    assert _frames_by_track(run.gpkg_path) == {1: every_frame, 2: every_frame}
    assert [(c["track_id"], c["frame"], c["kind"]) for c in _corrections(run.gpkg_path)] == [(1, 2, "reseat")]
    points = dock.track_layers.layers["points"]
    assert points.providerType() == "ogr" and points.featureCount() == 2 * GUI_CLIP_FRAMES
    lines = {feature["track_id"]: feature for feature in dock.track_layers.layers["lines"].getFeatures()}
    assert sorted(lines) == [1, 2]
    assert all(line["last_frame"] == GUI_CLIP_FRAMES - 1 for line in lines.values())
