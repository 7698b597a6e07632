"""Drives the plugin's Qt-only widgets under PyQt6 with QTest events: `python qt6_widgets_driver.py CHECK`.

Run by tests/test_qt6_widgets.py in a child process whose path starts with tests/qt6_shim (a `qgis.PyQt`
that is PyQt6) and the PyQt6 folder, so the widgets are imported through their own `qgis.PyQt` lines.
Exits non-zero (with the traceback) when a check fails; prints "PASS CHECK (PyQt6 x.y)" when it passes.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.PyQt.QtCore import PYQT_VERSION_STR, QPoint, QPointF, Qt  # noqa: E402
from qgis.PyQt.QtGui import QColor, QImage, QWheelEvent  # noqa: E402
from qgis.PyQt.QtTest import QSignalSpy, QTest  # noqa: E402
from qgis.PyQt.QtWidgets import QApplication, QVBoxLayout, QWidget  # noqa: E402

LEFT = Qt.MouseButton.LeftButton
NO_MODIFIER = Qt.KeyboardModifier.NoModifier


def _frame_view(width_px: int = 640, height_px: int = 480):
    """A shown FrameView of a 320 x 240 grey image fitted into `width_px` x `height_px` (scale 2)."""
    from qgis_siammask.gui.frame_view import FrameView

    view = FrameView()
    view.resize(width_px, height_px)
    image = QImage(320, 240, QImage.Format.Format_RGB32)
    image.fill(QColor("#808080"))
    view.set_image(image)
    view.show()
    assert QTest.qWaitForWindowExposed(view)
    return view


def check_frame_view_drag() -> None:
    """A left drag draws a box in image pixels; a click without a drag is a click; Shift + click picks."""
    view = _frame_view()
    assert abs(view.screen_scale() - 2.0) < 1e-9, view.screen_scale()
    boxes, clicks, picks = QSignalSpy(view.boxDrawn), QSignalSpy(view.clicked), QSignalSpy(view.pixelPicked)
    QTest.mousePress(view, LEFT, NO_MODIFIER, QPoint(100, 100))
    QTest.mouseMove(view, QPoint(200, 150))
    QTest.mouseMove(view, QPoint(300, 260))
    QTest.mouseRelease(view, LEFT, NO_MODIFIER, QPoint(300, 260))
    assert len(boxes) == 1, len(boxes)
    assert [round(value, 3) for value in boxes[0]] == [50.0, 50.0, 100.0, 80.0], boxes[0]
    QTest.mouseClick(view, LEFT, NO_MODIFIER, QPoint(400, 300))
    assert len(clicks) == 1 and [round(v, 3) for v in clicks[0]] == [200.0, 150.0], list(clicks)
    QTest.mouseClick(view, LEFT, Qt.KeyboardModifier.ShiftModifier, QPoint(40, 60))
    assert len(picks) == 1 and [round(v, 3) for v in picks[0]] == [20.0, 30.0], list(picks)
    assert len(boxes) == 1  # neither a click nor a pick drew a box


def check_frame_view_zoom_pan_keys() -> None:
    """The wheel zooms about the cursor, Ctrl + left drag pans, Esc is passed on; overlays paint."""
    from qgis_siammask.gui.frame_view import Overlay

    view = _frame_view()
    anchor = QPointF(160.0, 120.0)  # image pixel (80, 60)
    wheel = QWheelEvent(
        anchor, view.mapToGlobal(anchor), QPoint(), QPoint(0, 120), Qt.MouseButton.NoButton, NO_MODIFIER,
        Qt.ScrollPhase.NoScrollPhase, False,
    )
    QApplication.sendEvent(view, wheel)
    assert abs(view.zoom - 1.25) < 1e-9, view.zoom
    under_cursor = view.widget_to_image(anchor)
    assert abs(under_cursor.x() - 80.0) < 1e-6 and abs(under_cursor.y() - 60.0) < 1e-6, under_cursor
    before = view.widget_to_image(QPointF(320.0, 240.0))
    QTest.mousePress(view, LEFT, Qt.KeyboardModifier.ControlModifier, QPoint(320, 240))
    QTest.mouseMove(view, QPoint(300, 230))
    QTest.mouseRelease(view, LEFT, Qt.KeyboardModifier.ControlModifier, QPoint(300, 230))
    after = view.widget_to_image(QPointF(320.0, 240.0))
    # the image followed the hand 20 x 10 widget pixels = 8 x 4 image pixels at scale 2.5
    moved = (after.x() - before.x(), after.y() - before.y())
    assert abs(moved[0] - 8.0) < 1e-6 and abs(moved[1] - 4.0) < 1e-6, moved
    escapes = QSignalSpy(view.escapePressed)
    QTest.keyClick(view, Qt.Key.Key_Escape)
    assert len(escapes) == 1
    view.fit()
    view.set_overlays([Overlay(3, "car", 0.9, ((100, 100), (140, 100), (140, 130), (100, 130)))])
    shot = view.grab().toImage()
    centre = shot.pixelColor(240, 230)  # image pixel (120, 115), inside the mask-less box: image grey
    edge = shot.pixelColor(200, 230)  # the box's left side, image x = 100: the track's colour
    assert centre.name() == "#808080", centre.name()
    assert edge.name() != "#808080", edge.name()
    assert view.label_rects, "the overlay's label was not placed"


def _player_in_host():
    from qgis_siammask.gui.player import Player

    host = QWidget()
    layout = QVBoxLayout(host)
    player = Player(host)
    layout.addWidget(player)
    player.set_clip(99, 25.0, 4.0)
    player.show_position(0, 0.0)
    player.add_shortcuts(host)
    host.show()
    host.activateWindow()
    assert QTest.qWaitForWindowActive(host)
    return host, player


def check_player_buttons_and_keys() -> None:
    """Previous / next / play buttons, the arrow, Shift+arrow, End and ] keys, and the time field."""
    host, player = _player_in_host()
    asked = []
    player.frameRequested.connect(asked.append)
    player.frameRequested.connect(lambda index: player.show_position(index, index / 25.0))
    QTest.mouseClick(player.step_button, LEFT)
    QTest.mouseClick(player.step_button, LEFT)
    QTest.mouseClick(player.step_back_button, LEFT)
    assert asked == [1, 2, 1], asked
    player.step_button.setFocus()
    QTest.keyClick(player.step_button, Qt.Key.Key_Right)
    QTest.keyClick(player.step_button, Qt.Key.Key_Right, Qt.KeyboardModifier.ShiftModifier)
    QTest.keyClick(player.step_button, Qt.Key.Key_End)
    QTest.keyClick(player.step_button, Qt.Key.Key_Left)
    assert asked[3:] == [2, 27, 99, 98], asked
    QTest.keyClick(player.step_button, Qt.Key.Key_BracketRight)
    assert player.speed == 2.0, player.speed
    player.time_edit.setFocus()
    player.time_edit.selectAll()
    QTest.keyClicks(player.time_edit, "00:02.00")
    QTest.keyClick(player.time_edit, Qt.Key.Key_Return)
    assert asked[-1] == 50, asked
    assert player.frame_spin.value() == 50 and player.slider.value() == 50
    paused = QSignalSpy(player.paused)
    QTest.mouseClick(player.play_button, LEFT)
    assert player.playing
    QTest.qWait(200)  # 25 fps x 2: about ten frames
    QTest.mouseClick(player.play_button, LEFT)
    assert not player.playing and len(paused) == 1
    assert 50 < player.frame_index <= 99, player.frame_index
    host.close()


def check_targets_panel_from_drawn_boxes() -> None:
    """Boxes dragged on the frame view land in the targets table with the label; Remove takes one out."""
    from qgis_siammask.gui.targets_panel import TargetsPanel

    view = _frame_view()
    panel = TargetsPanel()
    panel.set_last_frame(99)
    panel.show()
    view.boxDrawn.connect(lambda x, y, w, h: panel.add_drawn_box(x, y, w, h, 7))
    panel.label_edit.selectAll()
    QTest.keyClicks(panel.label_edit, "truck")
    for start, end in ((QPoint(20, 20), QPoint(120, 100)), (QPoint(300, 300), QPoint(360, 380))):
        QTest.mousePress(view, LEFT, NO_MODIFIER, start)
        QTest.mouseMove(view, end)
        QTest.mouseRelease(view, LEFT, NO_MODIFIER, end)
    assert panel.box_table.rowCount() == 2
    assert [box.xywh for box in panel.boxes] == [(10.0, 10.0, 50.0, 40.0), (150.0, 150.0, 30.0, 40.0)]
    assert {box.label for box in panel.boxes} == {"truck"} and {box.frame for box in panel.boxes} == {7}
    panel.box_table.selectRow(0)
    QTest.mouseClick(panel.remove_button, LEFT)
    assert [box.xywh for box in panel.boxes] == [(150.0, 150.0, 30.0, 40.0)]
    QTest.mouseClick(panel.clear_button, LEFT)
    assert panel.box_table.rowCount() == 0


def check_tracks_panel_show_rename_delete() -> None:
    """Space on a track's tick hides it, its label edited in place renames it, Delete asks (a modal
    QMessageBox, answered Yes) and removes it."""
    from types import SimpleNamespace

    from qgis.PyQt.QtCore import QTimer
    from qgis.PyQt.QtWidgets import QLineEdit, QMessageBox

    from qgis_siammask.gui.tracks_panel import LABEL, SHOWN, TracksPanel

    panel = TracksPanel()
    panel.show()
    assert QTest.qWaitForWindowExposed(panel)
    tracks = [
        SimpleNamespace(track_id=1, label="car", status="ok"),
        SimpleNamespace(track_id=2, label="van", status="lost"),
    ]
    frame = SimpleNamespace(tracks=tracks)
    panel.update_tracks([frame, frame])
    assert panel.table.rowCount() == 2 and panel.styles[1].frames == 2
    shown, renamed, deleted = [], [], []
    panel.trackVisibilityChanged.connect(lambda track_id, visible: shown.append((track_id, visible)))
    panel.trackRenamed.connect(lambda track_id, label: renamed.append((track_id, label)))
    panel.trackDeleted.connect(deleted.append)
    panel.table.setFocus()
    panel.table.setCurrentCell(0, SHOWN)
    QTest.keyClick(panel.table.viewport(), Qt.Key.Key_Space)
    assert shown == [(1, False)] and not panel.styles[1].visible, shown
    panel.table.setCurrentCell(1, LABEL)
    panel.table.editItem(panel.table.item(1, LABEL))
    editor = panel.table.viewport().findChild(QLineEdit)
    assert editor is not None, "no editor opened on the label"
    editor.selectAll()
    QTest.keyClicks(editor, "lorry")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QTest.qWait(50)  # Qt6's delegate commits the edit from a queued call
    assert renamed == [(2, "lorry")] and panel.styles[2].renamed, renamed
    panel.table.selectRow(0)
    QTimer.singleShot(
        100, lambda: QApplication.activeModalWidget().button(QMessageBox.StandardButton.Yes).click()
    )
    QTest.mouseClick(panel.delete_button, LEFT)
    assert deleted == [1] and panel.track_ids() == [2], (deleted, panel.track_ids())


def check_no_qgis_core() -> None:
    """The shim is what was imported: PyQt6 only, no QGIS, no PyQt5."""
    import qgis_siammask.gui.frame_view  # noqa: F401
    import qgis_siammask.gui.player  # noqa: F401
    import qgis_siammask.gui.targets_panel  # noqa: F401
    import qgis_siammask.gui.tracks_panel  # noqa: F401

    assert PYQT_VERSION_STR.startswith("6."), PYQT_VERSION_STR
    assert "PyQt5" not in sys.modules and "qgis.core" not in sys.modules, sorted(sys.modules)


CHECKS = {name[len("check_"):]: function for name, function in globals().items() if name.startswith("check_")}


def main() -> None:
    name = sys.argv[1]
    app = QApplication(sys.argv[:1])
    CHECKS[name]()
    assert "PyQt5" not in sys.modules, "PyQt5 was imported beside PyQt6"
    print(f"PASS {name} (PyQt6 {PYQT_VERSION_STR})")
    del app


if __name__ == "__main__":
    main()
