"""Small pieces of the video dock: the telemetry read-out, time format, rows and buttons, file dialogs."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtCore import QCoreApplication, Qt
from qgis.PyQt.QtGui import QFont, QKeySequence
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QProgressBar,
    QScrollArea,
    QSlider,
    QTableWidget,
    QToolButton,
    QWidget,
)

try:
    from qgis.PyQt.QtGui import QShortcut  # Qt6 (QGIS 4)
except ImportError:
    from qgis.PyQt.QtWidgets import QShortcut  # Qt5 (QGIS 3)

from ..core.definitions import GEOREF_LABELS, GEOREF_ST0601

PANEL_TABLE_ROWS = 3  # rows a panel's table shows at least before it scrolls
SIDE_BY_SIDE_MIN_WIDTH_PX = 1100  # a detached window narrower than this keeps the panels under the video


def tr(text: str) -> str:
    return QCoreApplication.translate("VideoDock", text)


def format_time(seconds: float) -> str:
    minutes, rest = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{rest:05.2f}"


def _value(value, fmt: str) -> str:
    return "–" if value is None else format(value, fmt)


def georef_label(georef: str) -> str:
    """The analyst's name of a georeferencing mode (definitions.GEOREF_MODES)."""
    return tr(GEOREF_LABELS.get(georef, georef))


def telemetry_text(record, georef: str = GEOREF_ST0601, problem: str | None = None, surface: str = "") -> str:
    """The read-out under the video: what the telemetry says about this frame, and how it is put on the
    ground (`georef`, onto `surface`: a DEM's name or flat ground; `problem`: why it cannot be). The slant
    range only where it is known."""
    if record is None:
        return tr("No telemetry")
    time_utc = record.time_utc.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if record.time_utc else "–"
    r = record
    return "\n".join(
        [
            f"{time_utc}  ({r.source or '?'})",
            f"sensor  {_value(r.sensor_latitude_deg, '.6f')}, {_value(r.sensor_longitude_deg, '.6f')}"
            f"  alt {_value(r.sensor_altitude_m, '.1f')} m {r.altitude_reference or ''}",
            f"platform hdg {_value(r.platform_heading_deg, '.1f')}°"
            f"  pitch {_value(r.platform_pitch_deg, '.1f')}°  roll {_value(r.platform_roll_deg, '.1f')}°",
            f"sensor az {_value(r.sensor_relative_azimuth_deg, '.1f')}°"
            f"  el {_value(r.sensor_relative_elevation_deg, '.1f')}°"
            f"  fov {_value(r.horizontal_fov_deg, '.2f')}° x {_value(r.vertical_fov_deg, '.2f')}°",
            f"centre  {_value(r.frame_center_latitude_deg, '.6f')},"
            f" {_value(r.frame_center_longitude_deg, '.6f')}"
            + (f"  slant {r.slant_range_m:.0f} m" if r.slant_range_m is not None else ""),
            tr("ground  {}").format(georef_label(georef))
            + (f", {surface}" if surface else "")
            + (tr(": {}").format(problem) if problem else ""),
        ]
    )


def ask_path(parent, kind: str, title: str, file_filter: str, save: bool = False, file_name: str = "") -> str:
    """A file chosen in a dialog that opens in the folder last used for this kind of file (with
    `file_name` suggested there)."""
    from qgis.core import QgsSettings  # here, not at the top: the Qt-only widgets import this module

    from ..settings import SETTINGS_PREFIX

    key = f"{SETTINGS_PREFIX}last_folder/{kind}"
    settings = QgsSettings()
    ask = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
    folder = str(settings.value(key, "") or "")
    path, _ = ask(parent, title, str(Path(folder) / file_name) if file_name else folder, file_filter)
    if path:
        settings.setValue(key, str(Path(path).parent))
    return path


def ask_save_path(parent, title: str, file_filter: str, suffix: str, file_name: str = "") -> str:
    """An export file chosen in a save dialog (suggesting `file_name`), ending in `suffix` ("" when
    cancelled)."""
    path = ask_path(parent, "export", title, file_filter, save=True, file_name=file_name)
    return path if not path or path.lower().endswith(suffix) else path + suffix


def lonlat(lon, lat):
    return (lon, lat) if lon is not None and lat is not None else None


def widget_row(*widgets) -> QHBoxLayout:
    row = QHBoxLayout()
    for widget in widgets:
        row.addWidget(widget, 1 if isinstance(widget, (QLineEdit, QSlider, QProgressBar)) else 0)
    return row


def panel_table(columns, parent: QWidget) -> QTableWidget:
    """A dock panel's table: `columns` (untranslated names) stretched to its width, whole rows selected,
    at least as high as its header and PANEL_TABLE_ROWS rows (no taller limit: a blank strip would sit
    above it)."""
    table = QTableWidget(0, len(columns), parent)
    table.setHorizontalHeaderLabels([tr(column) for column in columns])
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    header_px = table.horizontalHeader().sizeHint().height()
    rows_px = PANEL_TABLE_ROWS * table.verticalHeader().defaultSectionSize()
    table.setMinimumHeight(header_px + rows_px + 2 * table.frameWidth())
    return table


def tool_button(icon, tooltip: str) -> QToolButton:
    button = QToolButton()
    button.setIcon(icon)
    button.setToolTip(tooltip)
    return button


def add_shortcut(host: QWidget, keys, slot) -> None:
    """`keys` call `slot` while the focus is anywhere inside `host`."""
    shortcut = QShortcut(QKeySequence(keys), host)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(slot)


def scrolled(widget: QWidget, parent: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area: its long lines never widen the dock, the scroll bar reaches
    them."""
    area = QScrollArea(parent)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidgetResizable(True)
    area.setWidget(widget)
    return area


def monospace_label(text: str, parent: QWidget) -> QLabel:
    """A selectable label in a small fixed-width font (columns of numbers line up)."""
    label = QLabel(text, parent)
    font = QFont("monospace")
    font.setStyleHint(QFont.StyleHint.TypeWriter)
    font.setPointSizeF(max(7.0, font.pointSizeF() - 1))
    label.setFont(font)
    label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)  # in a tab: from its top
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def toggle_detached(dock: QDockWidget) -> bool:
    """Float the dock as a large window (most of the screen), or dock it back; True when it is now a
    window wide enough for the panels beside the video. The docked width is kept in `dock.docked_width_px`
    (`restore_docked_width` gives it back)."""
    if dock.isFloating():
        dock.setFloating(False)
        return False
    dock.docked_width_px = dock.width()
    dock.setFloating(True)
    screen = dock.screen().availableGeometry()
    margin_x, margin_y = screen.width() // 20, screen.height() // 20
    window = screen.adjusted(margin_x, margin_y, -margin_x, -margin_y)
    dock.setGeometry(window)
    return window.width() >= SIDE_BY_SIDE_MIN_WIDTH_PX


def restore_docked_width(dock: QDockWidget) -> None:
    """Docked again: as wide as before it was detached, not as the large window (the main window's other
    docks keep their room)."""
    window = dock.parentWidget()
    if dock.docked_width_px and isinstance(window, QMainWindow):
        window.resizeDocks([dock], [dock.docked_width_px], Qt.Orientation.Horizontal)


def read_only_edit(parent: QWidget, placeholder: str = "", tooltip: str = "") -> QLineEdit:
    """A field that shows a path the dock chose (selectable, not typed into)."""
    edit = QLineEdit(parent)
    edit.setReadOnly(True)
    edit.setPlaceholderText(placeholder)
    edit.setToolTip(tooltip)
    return edit
