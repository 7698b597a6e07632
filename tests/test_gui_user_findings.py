"""Findings of a new user's walk-through and of a randomized GUI tester (issue 21), each replayed with Qt
events on the real dock: what the user did, and what must hold afterwards."""

from __future__ import annotations

import shutil

from qgis.PyQt.QtWidgets import QFileDialog
from test_gui_dock import _click, _draw_box


def _open_clicked(qtbot, dock, monkeypatch, path) -> None:
    """Open a clip with the dock's "Open video…" button (the file dialog answered with `path`)."""
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(path), ""))
    _click(qtbot, dock.open_button)


def test_opening_another_clip_while_a_run_tracks_leaves_the_new_clip_alone(
    dock, clip, qtbot, monkeypatch, tmp_path
):
    """Open a clip, draw a box, Track, and while it runs open another video: the frames still coming from
    the run raised IndexError in the dock (the new clip's session had no run) on every batch. The run
    finishes into its own file; the new clip stays on its first frame with no overlays of the run."""
    result, targets = clip
    other = tmp_path / "other.ts"
    shutil.copyfile(result.video_path, other)
    _open_clicked(qtbot, dock, monkeypatch, result.video_path)
    _draw_box(qtbot, dock.frame_view, targets[0][1])
    _click(qtbot, dock.track_button)
    task = dock.task
    assert task is not None, dock.status_label.text()

    _open_clicked(qtbot, dock, monkeypatch, other)  # before the run's first frames reach the dock
    assert dock.video_path == str(other)
    qtbot.waitUntil(lambda: dock.task is None, timeout=150_000)

    assert task.outcome.status == "success" and task.outcome.frames_tracked == len(result.frames)
    assert dock.frame_index == 0  # the run's frames did not move the new clip
    assert all(dock.session.frame_features(index) is None for index in range(len(result.frames)))
    assert dock.tracks_panel.table.rowCount() == 0
    assert not dock.tracks_panel.add_button.isEnabled()  # nothing of the old clip's run to correct here
