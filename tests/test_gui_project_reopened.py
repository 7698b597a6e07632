"""Found by the randomized GUI tester: the project saved (File > Save As) and opened again (File > Open)
while a run goes on raised AttributeError on every batch of frames (the run's live layers came back with
a single-symbol renderer, which has no classes to add a track to). Driven with Qt events on the dock."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsCategorizedSymbolRenderer, QgsProject
from test_gui_dock import _click, _draw_box
from test_gui_reseat import _points, _wait_for_run
from test_plugin_support import GUI_CLIP_FRAMES


def test_a_project_saved_and_opened_again_while_tracking(dock, clip, qtbot, tmp_path):
    result, targets = clip
    assert dock.open_video(str(result.video_path))
    for label, (_, box) in zip(("car", "van"), targets[:2]):
        dock.label_edit.setText(label)
        _draw_box(qtbot, dock.frame_view, box)
    _click(qtbot, dock.track_button)
    assert dock.task is not None
    project, path = QgsProject.instance(), str(tmp_path / "tracking.qgz")
    assert project.write(path) and project.read(path)  # before the run's first frame comes
    live = dock.track_layers.layers
    assert sorted(live) == ["boxes", "footprints", "lines", "masks", "points"]  # found again by id
    assert not isinstance(live["points"].renderer(), QgsCategorizedSymbolRenderer)  # as QGIS read it

    run = _wait_for_run(qtbot, dock)  # pytest-qt fails the test on an exception in a slot
    assert run.status == "success" and run.frames_tracked == GUI_CLIP_FRAMES, run
    tracked = {track for track, _ in _points(Path(run.gpkg_path))}
    assert tracked == {1, 2} and len(_points(Path(run.gpkg_path))) == 2 * GUI_CLIP_FRAMES
    points = dock.track_layers.layers["points"]  # the file's layers, classed by track again
    assert points.providerType() == "ogr" and isinstance(points.renderer(), QgsCategorizedSymbolRenderer)
    assert sorted(category.value() for category in points.renderer().categories()) == [1, 2]
