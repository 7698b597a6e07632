"""Rows of plain widgets the video dock lays out: the clip and its telemetry, the view's zoom buttons, the
map pick, the run's controls.

They hold widgets only; the dock connects them (its signal wiring stays in one place), apart from the view
buttons, which drive the frame view alone.
"""

from __future__ import annotations

from qgis.PyQt.QtCore import QRect, QSize, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..settings import load_settings
from .dock_parts import add_shortcut, read_only_edit, tr, widget_row
from .frame_view import WHEEL_ZOOM_STEP

STATUS_LINES = 2  # the status line's height at most; the whole text in its tooltip
HINT_LINES = 2  # the map pick's hint: its height always, cut with "…" past it; the whole text in its tooltip
SIDE_MAX_SHARE = 0.3  # of the split the panels get at most before the analyst drags it


def text_tool_button(text: str, tooltip: str, parent: QWidget) -> QToolButton:
    button = QToolButton(parent)
    button.setText(text)
    button.setToolTip(tooltip)
    return button


def _rows(parent: QWidget) -> QVBoxLayout:
    layout = QVBoxLayout(parent)
    layout.setContentsMargins(0, 0, 0, 0)
    return layout


class ClipRows(QWidget):
    """Video: path and Open; Telemetry: path (or what was found), choose by hand, the table."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.video_edit = read_only_edit(self, tr("No video"))
        self.open_button = QPushButton(tr("Open video…"), self)
        self.telemetry_edit = read_only_edit(self, tr("Found automatically (KLV, same-name SRT/CSV)"))
        self.telemetry_button = QPushButton(tr("Telemetry…"), self)
        self.telemetry_table_button = QPushButton(tr("Table…"), self)
        self.telemetry_table_button.setToolTip(tr("Every decoded telemetry record, exportable as CSV"))
        layout = _rows(self)
        layout.addLayout(widget_row(QLabel(tr("Video")), self.video_edit, self.open_button))
        layout.addLayout(
            widget_row(
                QLabel(tr("Telemetry")),
                self.telemetry_edit,
                self.telemetry_button,
                self.telemetry_table_button,
            )
        )

    def show_telemetry(self, chosen_path: str | None, found: str) -> None:
        """The telemetry file chosen by hand, else what was found; read from its start, whole in the
        tooltip (the field is narrower than most messages)."""
        text = chosen_path or tr("automatic: ") + found
        self.telemetry_edit.setText(text)
        self.telemetry_edit.setCursorPosition(0)
        self.telemetry_edit.setToolTip(text)


class ViewButtons(QWidget):
    """The frame's scale on screen, Fit, Detach (beside the player's entry fields)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.zoom_label = QLabel("100 %", self)
        self.zoom_label.setToolTip(
            tr("Screen pixels per video pixel. Wheel: zoom about the cursor; middle or Ctrl + left drag: pan")
        )
        # tool buttons: as narrow as their text, the player's row must fit a narrow dock
        self.fit_button = text_tool_button(tr("Fit"), tr("Show the whole frame (F)"), self)
        self.detach_button = text_tool_button(
            tr("Detach"), tr("Float the player in its own large window, or dock it back"), self
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for widget in (self.zoom_label, self.fit_button, self.detach_button):
            row.addWidget(widget)

    def control(self, frame_view, host: QWidget) -> None:
        """Show `frame_view`'s scale, Fit it; its keys anywhere in `host`: + and - zoom, F fits."""
        frame_view.scaleChanged.connect(self.show_scale)
        self.fit_button.clicked.connect(lambda: frame_view.fit())
        # "+" is Shift + "=" on a US keyboard (which X11 offers as Shift + "+" and as "="; a shortcut on "=" as
        # well would make it ambiguous: none would fire), a key of its own elsewhere and on the keypad
        for keys in (Qt.Key.Key_Plus, Qt.Modifier.SHIFT | Qt.Key.Key_Plus):
            add_shortcut(host, keys, lambda: frame_view.zoom_about(WHEEL_ZOOM_STEP))
        add_shortcut(host, Qt.Key.Key_Minus, lambda: frame_view.zoom_about(1.0 / WHEEL_ZOOM_STEP))
        add_shortcut(host, Qt.Key.Key_F, frame_view.fit)

    def show_scale(self, scale: float) -> None:
        """`scale`: screen pixels per video pixel (a 640 px frame 360 px wide on screen: 56 %)."""
        self.zoom_label.setText(f"{scale * 100:.0f} %")


class VideoSplit(QSplitter):
    """The video with its player (`video_rows`), and the panels (`side_rows`): under the video in the
    dock, beside it in the large detached window, so that the video keeps most of the room either way;
    the analyst may drag the split."""

    def __init__(self, parent=None):
        super().__init__(Qt.Orientation.Vertical, parent)
        video, self._side = QWidget(self), QWidget(self)
        self.video_rows, self.side_rows = _rows(video), _rows(self._side)
        for index, widget in enumerate((video, self._side)):
            self.addWidget(widget)
            self.setCollapsible(index, False)
        self._dragged = False  # once the analyst moved the split, the sizes are theirs
        self.splitterMoved.connect(lambda *_: setattr(self, "_dragged", True))

    def set_side_by_side(self, side_by_side: bool) -> None:
        self.setOrientation(Qt.Orientation.Horizontal if side_by_side else Qt.Orientation.Vertical)
        self._dragged = False
        self._share()

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if not self._dragged:
            self._share()

    def _share(self) -> None:
        """The panels get what they ask for (at most SIDE_MAX_SHARE), the video all the rest."""
        vertical = self.orientation() == Qt.Orientation.Vertical
        hint = self._side.sizeHint()
        side, total = (hint.height(), self.height()) if vertical else (hint.width(), self.width())
        side = min(side, int(total * SIDE_MAX_SHARE))
        self.setSizes([max(total - side, 1), side])


class CompactTabs(QTabWidget):
    """The dock's panels: asks for its minimum height only (its tables show their first rows and scroll),
    so the video gets the rest."""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(super().sizeHint().width(), self.minimumSizeHint().height())


class FittedLabel(QLabel):
    """Word-wrapped text always `lines` lines high, cut with "…" where it would need more; `text()` and the
    tooltip give the whole text. A wrapped QLabel grows with its text while its layout counts one line: the
    rows under it would be drawn over; this one's height never changes."""

    def __init__(self, lines: int, parent=None):
        super().__init__(parent)
        self._whole_text = ""
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)  # never widens the dock
        self.setFixedHeight(lines * self.fontMetrics().lineSpacing() + 2)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        self._whole_text = text
        self.setToolTip(text)
        self._fit()

    def text(self) -> str:
        return self._whole_text

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        """The longest start of the text (with "…") that wraps into the label's height at its width."""
        area = QRect(0, 0, max(self.contentsRect().width(), 1), 1 << 20)
        metrics = self.fontMetrics()

        def fits(text: str) -> bool:
            return metrics.boundingRect(area, Qt.TextFlag.TextWordWrap, text).height() <= self.height()

        shown = self._whole_text
        if not fits(shown):
            kept, too_long = 0, len(shown)  # fits(shown[:kept] + "…"), and not with too_long characters
            while too_long - kept > 1:
                middle = (kept + too_long) // 2
                kept, too_long = (middle, too_long) if fits(shown[:middle].rstrip() + "…") else (kept, middle)
            shown = shown[:kept].rstrip() + "…"
        super().setText(shown)


class StatusLabel(FittedLabel):
    """The run's status: each of the text's first `lines` lines on a display line of its own, cut with "…"
    where it is wider than the label (at its end; the last, the run's file, in the middle, so that the
    file's name shows); `text()` and the tooltip give the whole text. Word wrap let a long counts line
    take both lines and hid the "Saved in" line under the dock's bottom."""

    def __init__(self, lines: int, parent=None):
        self._lines = lines
        super().__init__(lines, parent)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

    def _fit(self) -> None:
        width, metrics = max(self.contentsRect().width(), 1), self.fontMetrics()
        rows = self._whole_text.split("\n")[: self._lines]
        last = len(rows) - 1
        QLabel.setText(self, "\n".join(
            metrics.elidedText(
                row, Qt.TextElideMode.ElideMiddle if 0 < index == last else Qt.TextElideMode.ElideRight, width
            )
            for index, row in enumerate(rows)
        ))


class MapPickRow(QWidget):
    """Map → video (a checkable button: the next map click is marked on the video), Clear marks, and a
    line that gives the hint, then what the latest mark found (the run's status line stays the run's)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.map_pick_button = QPushButton(tr("Map → video"), self)
        self.map_pick_button.setCheckable(True)
        self.map_pick_button.setToolTip(
            tr("Click the map inside the footprint: the point is marked on the video")
        )
        self.clear_marks_button = QPushButton(tr("Clear marks"), self)
        self.clear_marks_button.setToolTip(tr("Remove the cross on the map and the mark on the video (Esc)"))
        self.map_hint = FittedLabel(HINT_LINES, self)  # the panels' column may be narrow
        self.map_hint.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # coordinates
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.map_pick_button)
        row.addWidget(self.clear_marks_button)
        row.addWidget(self.map_hint, 1)  # the buttons keep their own width, the text takes the rest

    def show_state(self, has_map: bool) -> None:
        """Map parts on only with a map (telemetry)."""
        if not has_map:
            self.map_pick_button.setChecked(False)  # a disabled button must not leave the tool on
        self.map_pick_button.setEnabled(has_map)
        self.clear_marks_button.setEnabled(has_map)

    def show_hint(self, has_video: bool, has_map: bool) -> None:
        """How to mark (a clip was opened or closed), or why there is no map."""
        self.show_mark(
            tr("Shift + click on the video: its ground point on the map")
            if has_map or not has_video
            else tr("No telemetry: tracking in pixels (overlays, JSON lines, CSV export); no map")
        )

    def show_mark(self, text: str) -> None:
        self.map_hint.setText(text)  # the whole text in its tooltip


class RunRows(QWidget):
    """Track, Stop, the progress and Export; the output folder, Folder… and Open folder; whether
    exported files are added to the project; the dock's status line."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.track_button = QPushButton(tr("Track"), self)
        self.stop_button = QPushButton(tr("Stop"), self)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, 100)
        self.export_button = QPushButton(tr("Export GeoPackage…"), self)
        self.output_edit = read_only_edit(
            self, tooltip=tr("Each run writes its GeoPackage here (saved with the project)")
        )
        self.output_button = QPushButton(tr("Folder…"), self)
        self.open_folder_button = QPushButton(tr("Open folder"), self)
        self.export_add_check = QCheckBox(tr("Add exported files to the project"), self)
        self.export_add_check.setChecked(True)
        # STATUS_LINES high, never wider than the dock (a long path must not widen it): the panels above
        # keep their height, the whole text is in the tooltip
        self.status_label = StatusLabel(STATUS_LINES, self)
        layout = _rows(self)
        layout.addLayout(widget_row(self.track_button, self.stop_button, self.progress, self.export_button))
        layout.addLayout(
            widget_row(QLabel(tr("Output")), self.output_edit, self.output_button, self.open_folder_button)
        )
        layout.addWidget(self.export_add_check)
        self.notice_label = QLabel("", self)  # why the analyst's last click did nothing, under the status
        self.notice_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.notice_label.hide()
        layout.addWidget(self.status_label)
        layout.addWidget(self.notice_label)

    def show_status(self, text: str) -> None:
        """The run's status (its file, what it did), the whole text in the tooltip; a notice goes."""
        self.status_label.setText(text)  # the tooltip too
        self.show_notice("")

    def show_notice(self, text: str) -> None:
        """Why a click did nothing, on its own line (hidden when `text` is empty)."""
        self.notice_label.setText(text)
        self.notice_label.setToolTip(text)
        self.notice_label.setVisible(bool(text))

    def show_state(self, can_track: bool, tracking: bool, results: str | None) -> None:
        """Track while a run can start, Stop while one runs, Export for the latest run's `results`
        ("gpkg", "pixels" or None); the output folder of the next run."""
        self.track_button.setEnabled(can_track and not tracking)
        self.stop_button.setEnabled(tracking)
        self.export_button.setEnabled(results is not None and not tracking)
        self.export_button.setText(tr("Export CSV…") if results == "pixels" else tr("Export GeoPackage…"))
        self.export_add_check.setVisible(results != "pixels")  # a CSV has no layers to add
        self.output_edit.setText(str(load_settings().output_dir()))  # the run's file: in the status
