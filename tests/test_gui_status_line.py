"""The run's status line at the dock's width: the counts line and the "Saved in" line both show (walk-through
of issue 21: a long counts line took both lines of the wrapped label and hid the file under it)."""
from __future__ import annotations

from qgis.PyQt.QtWidgets import QLabel

COUNTS = (
    "Tracking finished: 120 frames; masks 240, boxes 240, points 240, lines 2, footprints 120, corrections 2"
)
FILE = "/home/analyst/Projects/Cheyenne survey 2026/siammask output/cheyenne_clip_20261208_041500.gpkg"


def test_counts_and_file_each_on_a_line_of_their_own(qgis_app, qtbot):
    from qgis_siammask.gui.dock_rows import STATUS_LINES, RunRows

    rows = RunRows()
    qtbot.addWidget(rows)
    rows.resize(429, rows.sizeHint().height())  # the docked width the walk-through measured
    rows.show()
    qtbot.waitExposed(rows)
    regrouped = "The run's layer group was removed while tracking: added again from the file."
    text = f"{COUNTS}\nSaved in {FILE}\n{regrouped}"
    rows.show_status(text)
    label = rows.status_label
    shown = QLabel.text(label).split("\n")  # what is painted, not the whole text
    assert label.text() == text and label.toolTip() == text
    assert len(shown) == STATUS_LINES
    assert shown[0].startswith("Tracking finished: 120 frames") and shown[1].startswith("Saved in")
    assert shown[1].endswith("041500.gpkg") and "…" in shown[1]  # cut in the middle: the file's name shows
    width = label.contentsRect().width()
    assert all(label.fontMetrics().horizontalAdvance(line) <= width for line in shown)
    rows.resize(2000, rows.height())  # wide enough: nothing cut
    qtbot.waitUntil(lambda: QLabel.text(label).split("\n")[1] == f"Saved in {FILE}", timeout=2000)
