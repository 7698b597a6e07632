"""The video frame on screen: fitted, zoomed with the wheel about the cursor and panned (middle drag or
Ctrl + left drag), boxes drawn with a left drag, a pixel picked with Shift + click, tracking overlays
and the marked pixel on top.

All geometry the widget exchanges with the rest of the plugin is in image pixels (x right, y down);
the widget alone knows how the image is scaled and offset inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.PyQt.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

from ..track_colors import track_color

MIN_BOX_SIZE_PX = 4.0
MARK_COLOR = "#ff2020"  # the pixel marked from the map, as the map's cross
MAX_ZOOM = 32.0  # times the fitted size
WHEEL_ZOOM_STEP = 1.25  # per wheel notch (120 eighths of a degree)


@dataclass(frozen=True)
class DrawnBox:
    """A target chosen by the analyst: image-pixel box (top-left x, y, width, height), its label and the
    video frame it was drawn on (a run must start on that frame: the object moves between frames)."""

    x: float
    y: float
    width: float
    height: float
    label: str
    frame: int = 0

    @property
    def xywh(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.width, self.height)


@dataclass(frozen=True)
class Overlay:
    """One track drawn on a frame: rotated box (4, 2) and mask outline rings (each (N, 2)), in pixels."""

    track_id: int
    label: str
    score: float
    rotated_box: tuple[tuple[float, float], ...]
    mask_rings: tuple[tuple[tuple[float, float], ...], ...] = ()
    lost: bool = False
    color: str = ""  # "#rrggbb" chosen by the analyst; empty: the track's palette colour


def bgr_to_qimage(image_bgr) -> QImage:
    """An (H, W, 3) uint8 BGR array as a QImage that owns a copy of the pixels."""
    height, width = image_bgr.shape[:2]
    data = image_bgr.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


class FrameView(QWidget):
    """Shows one frame; in drawing mode a left drag draws a box and emits `boxDrawn(x, y, w, h)`, and a
    left click without a drag emits `clicked(x, y)` (image pixels)."""

    boxDrawn = pyqtSignal(float, float, float, float)
    scaleChanged = pyqtSignal(float)  # screen pixels per image pixel (zoom, fit, resize, new image size)
    pixelPicked = pyqtSignal(float, float)  # Shift + click: image pixel (x, y)
    clicked = pyqtSignal(float, float)
    escapePressed = pyqtSignal()  # Esc on the video: the dock clears the marks

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(False)
        self._image: QImage | None = None
        self._boxes: list[tuple[str, DrawnBox]] = []  # (caption, box) of the targets on this frame
        self._overlays: list[Overlay] = []
        self._drag_start: QPointF | None = None
        self._drag_end: QPointF | None = None
        self._pan_from: QPointF | None = None  # widget position of the last pan move
        self._marked: tuple[float, float] | None = None  # image pixel marked from the map
        self.zoom = 1.0  # times the fitted size
        self._offset = QPointF()  # widget pixels the image is moved from its centred place
        self.drawing_enabled = True
        self.placeholder = ""
        self.label_rects: list[QRectF] = []  # where the last paint put the labels (widget pixels)
        # the digitising tool (gui.video_digitise.ShapeTool) takes left clicks and keys while it is set
        self.tool = None
        self.readout_lines: list[str] = []  # the telemetry read-out painted top left (empty: none)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(480, 320)

    # --- content ---------------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        resized = image is None or self._image is None or image.size() != self._image.size()
        self._image = image
        self.update()
        if resized:
            self._scale_changed()

    def screen_scale(self) -> float:
        """Screen pixels per image pixel (1.0 without an image)."""
        rect = self.image_rect()
        return rect.width() / self._image.width() if not rect.isEmpty() else 1.0

    def _scale_changed(self) -> None:
        self.scaleChanged.emit(self.screen_scale())

    def image_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize()

    def set_boxes(self, boxes: list[DrawnBox], frame_index: int, caption: str | None = None) -> None:
        """The targets; those drawn on `frame_index` (the frame shown) are painted, captioned "number: label"
        as the targets table lists them, or all `caption` (what a box will be named is not known yet)."""
        self._boxes = [
            (caption or f"{number}: {box.label}", box)
            for number, box in enumerate(boxes, 1)
            if box.frame == frame_index
        ]
        self.update()

    @property
    def box_captions(self) -> list[str]:
        """The captions of the targets painted on the frame shown."""
        return [caption for caption, _ in self._boxes]

    def set_overlays(self, overlays: list[Overlay]) -> None:
        self._overlays = list(overlays)
        self.update()

    def set_marked_pixel(self, pixel_xy: tuple[float, float] | None) -> None:
        self._marked = pixel_xy
        self.update()

    # --- coordinates -------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is painted inside the widget: fitted (aspect kept), zoomed, centred, panned."""
        if self._image is None or self._image.isNull():
            return QRectF()
        scale = self.zoom * min(self.width() / self._image.width(), self.height() / self._image.height())
        width, height = self._image.width() * scale, self._image.height() * scale
        left = (self.width() - width) / 2.0 + self._offset.x()
        top = (self.height() - height) / 2.0 + self._offset.y()
        return QRectF(left, top, width, height)

    def widget_to_image(self, point: QPointF, clamp: bool = True) -> QPointF:
        rect = self.image_rect()
        scale = rect.width() / self._image.width()
        x, y = (point.x() - rect.left()) / scale, (point.y() - rect.top()) / scale
        if clamp:
            x = min(max(x, 0.0), float(self._image.width()))
            y = min(max(y, 0.0), float(self._image.height()))
        return QPointF(x, y)

    def image_to_widget(self, x: float, y: float) -> QPointF:
        rect = self.image_rect()
        scale = rect.width() / self._image.width()
        return QPointF(rect.left() + x * scale, rect.top() + y * scale)

    # --- zoom and pan -------------------------------------------------------------------------
    def zoom_about(self, factor: float, anchor: QPointF | None = None) -> None:
        """Zoom by `factor` keeping the image point under `anchor` (widget pixels; default the centre)."""
        if self._image is None:
            return
        anchor = QPointF(self.width() / 2.0, self.height() / 2.0) if anchor is None else anchor
        fixed = self.widget_to_image(anchor, clamp=False)
        zoom = min(max(self.zoom * factor, 1.0), MAX_ZOOM)
        if zoom == 1.0:
            self.fit()
            return
        self.zoom = zoom
        moved = self.image_to_widget(fixed.x(), fixed.y())
        self._pan_by(anchor - moved)

    def fit(self) -> None:
        """The whole image, centred."""
        self.zoom, self._offset = 1.0, QPointF()
        self.update()
        self._scale_changed()

    def _pan_by(self, delta: QPointF) -> None:
        """Move the image; the widget's centre stays on the image, so it cannot be lost off screen."""
        self._offset += delta
        rect, centre = self.image_rect(), QPointF(self.width() / 2.0, self.height() / 2.0)
        dx = min(max(centre.x(), rect.left()), rect.right()) - centre.x()
        dy = min(max(centre.y(), rect.top()), rect.bottom()) - centre.y()
        self._offset -= QPointF(dx, dy)
        self.update()
        self._scale_changed()

    def wheelEvent(self, event):  # noqa: N802 (Qt API)
        notches = event.angleDelta().y() / 120.0
        if self._image is None or not notches:
            super().wheelEvent(event)
            return
        self.zoom_about(WHEEL_ZOOM_STEP**notches, event.position())
        event.accept()

    def resizeEvent(self, event):  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self._image is not None and self.zoom > 1.0:
            self._pan_by(QPointF())  # keep the clamp true for the new size
        else:
            self._scale_changed()

    def keyPressEvent(self, event):  # noqa: N802 (Qt API)
        if self.tool is not None and self.tool.key(event.key()):
            event.accept()
            return
        if event.key() == Qt.Key.Key_Escape:
            self.escapePressed.emit()
            event.accept()
            return
        super().keyPressEvent(event)

    # --- mouse ---------------------------------------------------------------------------------
    def _starts_pan(self, event) -> bool:
        ctrl_left = event.button() == Qt.MouseButton.LeftButton and bool(
            event.modifiers() & Qt.KeyboardModifier.ControlModifier
        )
        return self._image is not None and (event.button() == Qt.MouseButton.MiddleButton or ctrl_left)

    def mousePressEvent(self, event):  # noqa: N802 (Qt API)
        if self._starts_pan(event):
            self._pan_from = QPointF(event.pos())
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        shift_left = event.button() == Qt.MouseButton.LeftButton and bool(
            event.modifiers() & Qt.KeyboardModifier.ShiftModifier
        )
        if shift_left and self._image is not None:
            pixel = self.widget_to_image(QPointF(event.pos()))
            self.pixelPicked.emit(pixel.x(), pixel.y())
            event.accept()
            return
        if self.tool is not None and self._image is not None and self.tool.press(event.button(), event.pos()):
            event.accept()
            return
        if self.drawing_enabled and self._image is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_start = self._drag_end = self.widget_to_image(QPointF(event.pos()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event):  # noqa: N802 (Qt API)
        tool = self.tool if self._image is not None else None
        if tool is not None and tool.double_click(event.button(), event.pos()):
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    def ensure_visible(self, x: float, y: float, width: float, height: float, margin: float = 0.15) -> None:
        """Zoomed in, pan so that the image box (x, y, width, height) is inside the widget, `margin` of
        its size from the edges; re-centred on the box once it would leave that (the view does not creep)."""
        if self._image is None or self.zoom <= 1.0:
            return
        inner = QRectF(self.rect()).adjusted(
            self.width() * margin, self.height() * margin, -self.width() * margin, -self.height() * margin
        )
        box = QRectF(self.image_to_widget(x, y), self.image_to_widget(x + width, y + height))
        if not inner.contains(box):
            self._pan_by(QPointF(self.width() / 2.0, self.height() / 2.0) - box.center())

    def mouseMoveEvent(self, event):  # noqa: N802 (Qt API)
        if self._pan_from is not None:
            position = QPointF(event.pos())
            self._pan_by(position - self._pan_from)
            self._pan_from = position
            event.accept()
            return
        if self._drag_start is not None:
            self._drag_end = self.widget_to_image(QPointF(event.pos()))
            self.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):  # noqa: N802 (Qt API)
        if self._pan_from is not None:
            self._pan_by(QPointF(event.pos()) - self._pan_from)  # the last stretch, moved or not
            self._pan_from = None
            self.unsetCursor()
            event.accept()
            return
        if self._drag_start is None or event.button() != Qt.MouseButton.LeftButton:
            super().mouseReleaseEvent(event)
            return
        start, end = self._drag_start, self.widget_to_image(QPointF(event.pos()))
        self._drag_start = self._drag_end = None
        self.update()
        box = QRectF(start, end).normalized()
        if box.width() >= MIN_BOX_SIZE_PX and box.height() >= MIN_BOX_SIZE_PX:
            self.boxDrawn.emit(box.x(), box.y(), box.width(), box.height())
        elif box.width() < MIN_BOX_SIZE_PX and box.height() < MIN_BOX_SIZE_PX:
            self.clicked.emit(end.x(), end.y())
        event.accept()

    # --- painting ------------------------------------------------------------------------------
    def paintEvent(self, event):  # noqa: N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#202020"))
        if self._image is None or self._image.isNull():
            painter.setPen(QColor("#c0c0c0"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)
            painter.end()
            return
        # zoomed in, pixels stay square-edged so that the analyst sees where a box edge falls
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 4.0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        target = self.image_rect().intersected(QRectF(self.rect()))
        if not target.isEmpty():  # only the part on screen is scaled, however far it is zoomed
            top_left, bottom_right = target.topLeft(), target.bottomRight()
            source = QRectF(self.widget_to_image(top_left), self.widget_to_image(bottom_right))
            painter.drawImage(target, self._image, source)
        labels = _LabelPlaces(painter.fontMetrics())
        for overlay in self._overlays:
            self._paint_overlay(painter, overlay, labels)
        for caption, box in self._boxes:  # targets for the next run, over the tracks of this one
            self._paint_box(painter, box, QColor("#ffffff"), caption, labels)
        self.label_rects = labels.taken
        if self._marked is not None:
            centre = self.image_to_widget(*self._marked)
            painter.setPen(QPen(QColor(MARK_COLOR), 2))
            for dx, dy in ((1, 0), (0, 1)):
                painter.drawLine(centre - QPointF(12 * dx, 12 * dy), centre + QPointF(12 * dx, 12 * dy))
            painter.drawEllipse(centre, 6.0, 6.0)
        if self.tool is not None:
            self.tool.paint(painter)
        if self.readout_lines:
            self._paint_readout(painter)
        if self._drag_start is not None and self._drag_end is not None:
            rect = QRectF(self._drag_start, self._drag_end).normalized()
            self._paint_box(
                painter, DrawnBox(rect.x(), rect.y(), rect.width(), rect.height(), ""), QColor("#ffff00"), ""
            )
        painter.end()

    def _paint_box(
        self, painter: QPainter, box: DrawnBox, color: QColor, text: str, labels: _LabelPlaces | None = None
    ) -> None:
        top_left = self.image_to_widget(box.x, box.y)
        bottom_right = self.image_to_widget(box.x + box.width, box.y + box.height)
        painter.setPen(QPen(color, 2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(top_left, bottom_right))
        if text and labels is not None:
            painter.drawText(labels.place(text, top_left + QPointF(2, -4)), text)

    def _paint_readout(self, painter: QPainter) -> None:
        """The telemetry read-out, white on a dark band in the top left corner."""
        metrics = painter.fontMetrics()
        line = metrics.height()
        width = max(metrics.horizontalAdvance(text) for text in self.readout_lines) + 12
        painter.fillRect(QRectF(4, 4, width, line * len(self.readout_lines) + 8), QColor(0, 0, 0, 150))
        painter.setPen(QColor("#ffffff"))
        for number, text in enumerate(self.readout_lines):
            painter.drawText(QPointF(10, 8 + metrics.ascent() + number * line), text)

    def _polygon(self, points) -> QPolygonF:
        return QPolygonF([self.image_to_widget(x, y) for x, y in points])

    def _paint_overlay(self, painter: QPainter, overlay: Overlay, labels: _LabelPlaces) -> None:
        color = QColor(overlay.color) if overlay.color else track_color(overlay.track_id)
        fill = QColor(color)
        fill.setAlpha(70 if overlay.lost else 110)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QBrush(fill))
        for ring in overlay.mask_rings:
            painter.drawPolygon(self._polygon(ring))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(color, 2, Qt.PenStyle.DotLine if overlay.lost else Qt.PenStyle.SolidLine))
        box = self._polygon(overlay.rotated_box)
        painter.drawPolygon(box)
        text = f"{overlay.track_id}: {overlay.label} {overlay.score:.2f}"
        painter.drawText(labels.place(text, box.boundingRect().topLeft() + QPointF(0, -4)), text)


class _LabelPlaces:
    """Where the labels of one painted frame go: a label that would overlap one already placed moves up
    a line at a time until it is clear (targets side by side keep readable names)."""

    def __init__(self, metrics):
        self._metrics = metrics
        self.taken: list[QRectF] = []  # widget rectangles of the labels placed so far

    def place(self, text: str, baseline_left: QPointF) -> QPointF:
        """The baseline start for `text` wanted at `baseline_left`, moved up clear of earlier labels."""
        width, line = float(self._metrics.horizontalAdvance(text)), float(self._metrics.height())
        at = QPointF(baseline_left)
        while True:
            rect = QRectF(at.x(), at.y() - self._metrics.ascent(), width, line)
            if not any(rect.intersects(other) for other in self.taken):
                self.taken.append(rect)
                return at
            at -= QPointF(0.0, line)
