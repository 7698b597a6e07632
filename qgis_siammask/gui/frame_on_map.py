"""The frame on the map and snapshots, from the dock: the draped frame's opacity (beside the marks'
buttons), Snapshot (on the player) and what they drive.

`FrameOnMap` moves the playback group's frame layer (playback_layers.PLAYBACK_FRAME) to the frame on
screen whenever the map follows the video (the dock's throttled map updates), through the same frame
model as the footprint; it casts the frame's grid only while the layer is ticked in the Layers panel.
Snapshot writes the frame shown as a PNG with its telemetry and a georeferenced GeoTIFF.
"""

from __future__ import annotations

from qgis.core import Qgis, QgsProject
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QSpinBox, QToolButton, QWidget

from ..settings import load_settings
from .dock_parts import tr

DEFAULT_FRAME_OPACITY_PERCENT = 80
SNAPSHOT_SUBFOLDER = "snapshots"


class FrameMapControls(QObject):
    """The dock's two controls of the frame on the map, placed in the marks' row under the player (a row
    more would take the video's height, and the player's rows are full in a narrow dock): the frame's
    opacity on the map (a spin box) and Snapshot. `nodeTicked` when a layer or group is ticked in the
    Layers panel (the frame layer, ticked while paused, then shows the frame)."""

    nodeTicked = pyqtSignal()

    def __init__(self, parent: QWidget):
        super().__init__(parent)
        # bound to this object, a child of the dock's body: the connection ends with the dock
        QgsProject.instance().layerTreeRoot().visibilityChanged.connect(self._node_visibility_changed)
        self.opacity_spin = QSpinBox(parent)
        self.opacity_spin.setObjectName("frameOpacitySpin")
        self.opacity_spin.setRange(0, 100)
        self.opacity_spin.setSingleStep(10)
        self.opacity_spin.setPrefix(tr("Frame "))
        self.opacity_spin.setSuffix(" %")
        # no arrows (the keys, the wheel and typing change it): it and Snapshot fit the marks' row of a
        # narrow dock
        self.opacity_spin.setButtonSymbols(QSpinBox.ButtonSymbols.NoButtons)
        self.opacity_spin.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.opacity_spin.setValue(DEFAULT_FRAME_OPACITY_PERCENT)
        self.opacity_spin.setToolTip(
            tr("Opacity of the video frame draped on the map (the \"video frame\" layer of the clip's group; "
               "untick it in the Layers panel to hide it)")
        )
        self.snapshot_button = QToolButton(parent)  # as narrow as its text
        self.snapshot_button.setText(tr("Snapshot"))
        self.snapshot_button.setObjectName("snapshotButton")
        self.snapshot_button.setToolTip(
            tr("Save the frame shown: a PNG with its telemetry (and a .json beside it) and a georeferenced "
               "GeoTIFF, in the output folder's \"snapshots\" folder")
        )

    def widgets(self) -> tuple[QWidget, QWidget]:
        return self.opacity_spin, self.snapshot_button

    def _node_visibility_changed(self, node) -> None:
        if node.isVisible():
            self.nodeTicked.emit()


class FrameOnMap:
    """The dock's frame layer and snapshots; `dock` is the VideoDock (its session, frame shown, status)."""

    def __init__(self, dock, controls: FrameMapControls):
        self.dock = dock
        self.controls = controls
        self._opacity_set_on = None  # id of the frame layer the spin box's opacity was last given to
        controls.opacity_spin.valueChanged.connect(lambda _: self._apply_opacity(force=True))
        controls.snapshot_button.clicked.connect(lambda: self.snapshot())
        controls.nodeTicked.connect(self._node_ticked)

    def _node_ticked(self) -> None:
        """The frame layer (or its group) ticked again while it is empty: the frame on screen goes on it."""
        layers = self.dock.playback_layers
        frame_layer = layers.frame if layers is not None else None
        if frame_layer is not None and frame_layer.frame is None and layers.frame_visible():
            self.show(self.dock.map_side.camera_shown())

    def show(self, camera, footprint_lonlat=None) -> None:
        """Drape the frame on screen by `camera` (its frame model, None: not on the ground;
        `footprint_lonlat` its ground corners, when known) on the map. Only the frame is handed
        over here: its grid is cast when the map draws it, and not at all while the layer is unticked."""
        layers = self.dock.playback_layers
        layer = layers.frame if layers is not None else None
        if layer is None:
            return
        self._apply_opacity()
        frame = self.dock.current_frame
        if frame is None or camera is None or not layers.frame_visible():
            layer.set_frame(None)
            return
        layer.set_frame(frame.image, camera, footprint_lonlat)

    def _apply_opacity(self, force: bool = False) -> None:
        """The spin box's opacity on the frame layer: when it changes, and once on each new layer (a layer
        the analyst styled keeps its opacity until the spin box changes)."""
        layers = self.dock.playback_layers
        layer = layers.frame if layers is not None else None
        if layer is None or (not force and layer.id() == self._opacity_set_on):
            return
        layer.setOpacity(self.controls.opacity_spin.value() / 100.0)
        self._opacity_set_on = layer.id()
        layer.triggerRepaint()

    def snapshot(self):
        """Save the frame shown (core SnapshotFiles), None without one; the outcome on the status line."""
        from ..core.errors import SiamMaskError
        from ..core.frame_export import snapshot_stem
        from ..core.output.snapshot import save_snapshot

        dock = self.dock
        if dock.session is None or dock.current_frame is None:
            return None
        dock.player.pause()
        frame = dock.current_frame
        record, camera, _ = dock.session.camera_at(frame.time_s)
        folder = load_settings().output_dir() / SNAPSHOT_SUBFOLDER
        crs = QgsProject.instance().crs()  # a projected project CRS, else the frame's UTM zone
        projected = crs.authid() if crs.isValid() and crs.authid() and not crs.isGeographic() else None
        stem = snapshot_stem(dock.video_path, frame.index)
        try:
            files = save_snapshot(folder, stem, frame.image, frame.index, frame.time_s, record,
                                  dock.session.georef, camera, projected)
        except SiamMaskError as error:
            text = tr("Snapshot not saved: {}").format(error.user_message)
            dock._set_status(text, Qgis.MessageLevel.Warning)
            return None
        if files.geotiff is not None:
            dock._set_status(tr("Snapshot saved: {} (PNG, JSON, GeoTIFF)").format(files.png.with_suffix("")))
        else:
            text = tr("Snapshot saved: {} (PNG, JSON); no GeoTIFF: {}")
            dock._set_status(text.format(files.png.with_suffix(""), files.problem), Qgis.MessageLevel.Warning)
        return files

    def set_enabled(self, has_video: bool, has_map: bool) -> None:
        self.controls.snapshot_button.setEnabled(has_video)
        self.controls.opacity_spin.setEnabled(has_map)
