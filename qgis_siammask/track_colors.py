"""The colour of each track, the same for its overlay in the video and its features on the map.

Qt only (no qgis.core): the video widgets import it without QGIS's core (tests/test_qt6_widgets.py
imports them under PyQt6 alone).
"""

from __future__ import annotations

from qgis.PyQt.QtGui import QColor

# Distinct colours (Okabe-Ito plus a few).
TRACK_PALETTE = (
    "#e69f00",
    "#56b4e9",
    "#009e73",
    "#f0e442",
    "#0072b2",
    "#d55e00",
    "#cc79a7",
    "#ff3b30",
    "#7fff00",
    "#00ced1",
)


def track_color(track_id: int) -> QColor:
    return QColor(TRACK_PALETTE[int(track_id) % len(TRACK_PALETTE)])
