"""What the third new-user walkthrough of the dock found, each checked with Qt events on the real dock:
a long hint never pushes a row over the targets table; opening a clip does not widen the dock."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QWidget
from test_gui_dock import _draw_box, _without_telemetry
from test_gui_dock_walk2 import DEFAULT_DOCK_WIDTH_PX, _rows_in_view
from test_plugin_support import simulated_clip

from qgis_siammask.gui.dock_parts import PANEL_TABLE_ROWS


def _overlaps(widget, other) -> bool:
    """Whether `widget` and `other` (both shown) cover the same pixels of the dock's window."""
    top_left, other_top_left = widget.mapTo(widget.window(), widget.rect().topLeft()), other.mapTo(
        other.window(), other.rect().topLeft()
    )
    return widget.rect().translated(top_left).intersects(other.rect().translated(other_top_left))


def test_targets_table_keeps_three_rows_under_a_long_hint(dock, clip, qtbot, tmp_path):
    """A clip without telemetry (its hint is the longest), three boxes drawn at the default dock width:
    the targets table shows three whole rows and no other widget of the dock covers it."""
    result, targets = clip
    assert dock.open_video(str(_without_telemetry(result, tmp_path / "plain.mp4")))
    width_px = max(DEFAULT_DOCK_WIDTH_PX, dock.minimumSizeHint().width())
    dock.resize(width_px, 800)
    qtbot.waitUntil(lambda: dock.width() == width_px)
    for _, box in targets[:1] * 3:
        _draw_box(qtbot, dock.frame_view, box)
    qtbot.wait(50)
    table = dock.box_table
    assert table.rowCount() == 3 and _rows_in_view(table) >= PANEL_TABLE_ROWS, _rows_in_view(table)
    assert dock.frame_view.box_captions == ["1: vehicle", "2: vehicle", "3: vehicle"]  # as in the table
    covered = [
        widget.objectName() or type(widget).__name__
        for widget in dock.widget().findChildren(QWidget)
        if widget.isVisible()
        and widget is not table
        and not table.isAncestorOf(widget)
        and not widget.isAncestorOf(table)
        and _overlaps(widget, table)
    ]
    assert not covered, covered
    hint = dock.map_hint
    assert hint.toolTip() == hint.text() and "No telemetry" in hint.text()
    assert hint.height() <= 3 * hint.fontMetrics().lineSpacing()


def test_opening_a_clip_keeps_the_dock_width(dock, qtbot, tmp_path_factory):
    """The dock as narrow as it may be, a clip of 120 frames opened ("0 / 119" in the frame field): the
    dock keeps its width, and so does the player's row at its narrowest (the widest row in QGIS's font,
    narrower than the offscreen one)."""
    result, _ = simulated_clip(tmp_path_factory.getbasetemp(), 120)
    width_px, player_px = dock.minimumSizeHint().width(), dock.player.minimumSizeHint().width()
    dock.resize(width_px, 800)
    qtbot.waitUntil(lambda: dock.width() == width_px)
    assert dock.open_video(str(result.video_path))
    qtbot.wait(50)
    assert dock.player.frame_spin.suffix() == " / 119"
    assert dock.width() == width_px and dock.player.minimumSizeHint().width() <= player_px
    # the read-out's long lines (433 px in QGIS's font: the dock grew by 16 px) scroll in their tab instead
    telemetry_page = dock.panels.widget(dock.panels.count() - 1)
    assert "sensor" in dock.telemetry_label.text()
    assert telemetry_page.minimumSizeHint().width() < dock.telemetry_label.minimumSizeHint().width() / 2
