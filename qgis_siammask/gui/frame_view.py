"""The video frame on screen: scaled to fit, boxes drawn with the mouse, tracking overlays on top.

All geometry the widget exchanges with the rest of the plugin is in image pixels (x right, y down);
the widget alone knows how the image is scaled and offset inside it.
"""

from __future__ import annotations

from dataclasses import dataclass

from qgis.PyQt.QtCore import QPointF, QRectF, QSize, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QImage, QPainter, QPen, QPolygonF
from qgis.PyQt.QtWidgets import QSizePolicy, QWidget

from ..layers import track_color

MIN_BOX_SIZE_PX = 4.0


@dataclass(frozen=True)
class DrawnBox:
    """A target chosen by the analyst: image-pixel box (top-left x, y, width, height) and its label."""

    x: float
    y: float
    width: float
    height: float
    label: str

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


def bgr_to_qimage(image_bgr) -> QImage:
    """An (H, W, 3) uint8 BGR array as a QImage that owns a copy of the pixels."""
    height, width = image_bgr.shape[:2]
    data = image_bgr.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_BGR888).copy()


class FrameView(QWidget):
    """Shows one frame; in drawing mode a left drag draws a box and emits `boxDrawn(x, y, w, h)`, and a
    left click without a drag emits `clicked(x, y)` (image pixels)."""

    boxDrawn = pyqtSignal(float, float, float, float)
    clicked = pyqtSignal(float, float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 120)
        self.setMouseTracking(False)
        self._image: QImage | None = None
        self._boxes: list[DrawnBox] = []
        self._overlays: list[Overlay] = []
        self._drag_start: QPointF | None = None
        self._drag_end: QPointF | None = None
        self.drawing_enabled = True
        self.placeholder = ""

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(480, 320)

    # --- content ---------------------------------------------------------------------------
    def set_image(self, image: QImage | None) -> None:
        self._image = image
        self.update()

    def image_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize()

    def set_boxes(self, boxes: list[DrawnBox]) -> None:
        self._boxes = list(boxes)
        self.update()

    def set_overlays(self, overlays: list[Overlay]) -> None:
        self._overlays = list(overlays)
        self.update()

    # --- coordinates -------------------------------------------------------------------------
    def image_rect(self) -> QRectF:
        """Where the image is painted inside the widget (aspect kept, centred)."""
        if self._image is None or self._image.isNull():
            return QRectF()
        scale = min(self.width() / self._image.width(), self.height() / self._image.height())
        width, height = self._image.width() * scale, self._image.height() * scale
        return QRectF((self.width() - width) / 2.0, (self.height() - height) / 2.0, width, height)

    def widget_to_image(self, point: QPointF) -> QPointF:
        rect = self.image_rect()
        scale = rect.width() / self._image.width()
        x = min(max((point.x() - rect.left()) / scale, 0.0), float(self._image.width()))
        y = min(max((point.y() - rect.top()) / scale, 0.0), float(self._image.height()))
        return QPointF(x, y)

    def image_to_widget(self, x: float, y: float) -> QPointF:
        rect = self.image_rect()
        scale = rect.width() / self._image.width()
        return QPointF(rect.left() + x * scale, rect.top() + y * scale)

    # --- mouse ---------------------------------------------------------------------------------
    def mousePressEvent(self, event):  # noqa: N802 (Qt API)
        if self.drawing_enabled and self._image is not None and event.button() == Qt.MouseButton.LeftButton:
            self._drag_start = self._drag_end = self.widget_to_image(QPointF(event.pos()))
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event):  # noqa: N802 (Qt API)
        if self._drag_start is not None:
            self._drag_end = self.widget_to_image(QPointF(event.pos()))
            self.update()
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event):  # noqa: N802 (Qt API)
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
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.drawImage(self.image_rect(), self._image)
        for overlay in self._overlays:
            self._paint_overlay(painter, overlay)
        if not self._overlays:  # the targets being drawn; once tracked, their overlays say it all
            for index, box in enumerate(self._boxes):
                self._paint_box(painter, box, QColor("#ffffff"), f"{index + 1}: {box.label}")
        if self._drag_start is not None and self._drag_end is not None:
            rect = QRectF(self._drag_start, self._drag_end).normalized()
            self._paint_box(
                painter, DrawnBox(rect.x(), rect.y(), rect.width(), rect.height(), ""), QColor("#ffff00"), ""
            )
        painter.end()

    def _paint_box(self, painter: QPainter, box: DrawnBox, color: QColor, text: str) -> None:
        top_left = self.image_to_widget(box.x, box.y)
        bottom_right = self.image_to_widget(box.x + box.width, box.y + box.height)
        painter.setPen(QPen(color, 2, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(QRectF(top_left, bottom_right))
        if text:
            painter.drawText(top_left + QPointF(2, -4), text)

    def _polygon(self, points) -> QPolygonF:
        return QPolygonF([self.image_to_widget(x, y) for x, y in points])

    def _paint_overlay(self, painter: QPainter, overlay: Overlay) -> None:
        color = track_color(overlay.track_id)
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
        painter.drawText(box.boundingRect().topLeft() + QPointF(0, -4), text)
