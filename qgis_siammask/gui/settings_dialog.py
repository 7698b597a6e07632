"""Settings dialog: plugin-wide (model file, checked on selection; device; precision; score threshold;
one-click object size) and this project's (DEM, georeferencing, output CRS, output folder)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from qgis.core import QgsCoordinateReferenceSystem, QgsMapLayerProxyModel
from qgis.gui import QgsFileWidget, QgsMapLayerComboBox, QgsProjectionSelectionWidget
from qgis.PyQt.QtCore import QCoreApplication
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QPushButton,
)

from ..core.definitions import DEVICES, GEOREF_LABELS, GEOREF_MODES, PRECISIONS
from ..settings import PluginSettings, default_model_path, load_settings, save_settings
from .dock_parts import widget_row
from .models_dialog import ModelsDialog, available_devices


def tr(text: str) -> str:
    return QCoreApplication.translate("SettingsDialog", text)


def describe_model(path: str) -> tuple[bool, str]:
    """(usable, what it is) for a TorchScript model file, from its metadata (read without torch)."""
    if not path:
        return False, tr("No model file: choose a TorchScript SiamMask model (.pt)")
    from ..core.errors import SiamMaskError
    from ..core.tracking.network.config import ModelMetadata

    try:
        info = ModelMetadata.read(path).config
    except SiamMaskError as error:
        hint = tr(" (a checkpoint: convert it with Models… ▸ Add file…)") if path.endswith(".pth") else ""
        return False, error.user_message + hint
    text = tr(
        "{name}: backbone {backbone}, mask {mask}, refine {refine}, exemplar {exemplar}px, search {search}px"
    ).format(
        name=Path(path).stem,  # as the models list and README name it (info.name names the network)
        backbone=info.backbone,
        mask=tr("yes") if info.has_mask else tr("no"),
        refine=tr("yes") if info.has_refine else tr("no"),
        exemplar=info.exemplar_size,
        search=info.instance_size,
    )
    return True, text


class SettingsDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle(tr("SiamMask FMV Tracker settings"))
        current = load_settings()
        form = QFormLayout(self)
        self.model_widget = QgsFileWidget(self)
        self.model_widget.setFilter("SiamMask model (*.pt *.pt2 *.pth)")
        self.model_widget.setFilePath(current.model_path)
        self.model_widget.fileChanged.connect(self.check_model)
        self.model_label = QLabel(self)
        self.model_label.setWordWrap(True)
        models_button = QPushButton(tr("Models…"), self)
        models_button.setToolTip(tr("Installed models, the authors' models to download, files to convert"))
        models_button.clicked.connect(self.show_models)
        form.addRow(tr("Model file (empty: default)"), widget_row(self.model_widget, models_button))
        form.addRow("", self.model_label)
        self.device_combo = QComboBox(self)
        working = available_devices()  # asks torch once
        self.device_combo.addItems([d for d in DEVICES if d in working])
        self.device_combo.setCurrentText(current.device)
        form.addRow(tr("Device"), self.device_combo)
        self.precision_combo = QComboBox(self)
        self.precision_combo.addItems(list(PRECISIONS))
        self.precision_combo.setCurrentText(current.precision)
        self.precision_combo.setToolTip(tr(
            "fp32: exact, as the authors' code. bf16: about twice as fast on CPUs with AVX512-BF16 or AMX "
            "(and on CUDA), slightly different results. fp16: CUDA only."))
        form.addRow(tr("Precision"), self.precision_combo)
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setValue(current.score_threshold)
        self.threshold_spin.setToolTip(tr("A target whose score stays below this is marked lost"))
        form.addRow(tr("Score threshold"), self.threshold_spin)
        self.object_spins = []  # one click on the video starts a track with a box of an object this big
        for size_m, name in ((current.object_length_m, tr("One-click object length")),
                             (current.object_width_m, tr("One-click object width"))):
            spin = QDoubleSpinBox(self)
            spin.setRange(0.1, 100.0)
            spin.setDecimals(1)
            spin.setSuffix(" m")
            spin.setValue(size_m)
            self.object_spins.append(spin)
            form.addRow(name, spin)
        self.dem_combo = QgsMapLayerComboBox(self)
        self.dem_combo.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        self.dem_combo.setAllowEmptyLayer(True)
        self.dem_combo.setLayer(None)
        for index in range(self.dem_combo.count()):
            layer = self.dem_combo.layer(index)
            if layer is not None and layer.id() == current.dem_layer_id:
                self.dem_combo.setCurrentIndex(index)
        form.addRow(QLabel(tr("<b>This project</b> (saved in the project file)"), self))
        form.addRow(tr("DEM (empty: flat ground)"), self.dem_combo)
        self.georef_combo = QComboBox(self)
        for mode in GEOREF_MODES:
            self.georef_combo.addItem(tr(GEOREF_LABELS[mode]), mode)
        self.georef_combo.setCurrentIndex(GEOREF_MODES.index(current.georef))
        self.georef_combo.setToolTip(tr(
            "How each frame is put on the ground. ST 0601 camera model: platform and sensor angles composed "
            "as the standard defines them. Horizon-level gimbal: the same line of sight, but the picture is "
            "kept level with the horizon (its roll from the sensor roll, tag 20, alone), as many gimbals do. "
            "Reported corners: the four corners the telemetry gives (tags 26-33 or 82-89); frames without "
            "them get no ground position."))
        form.addRow(tr("Georeferencing"), self.georef_combo)
        self.crs_widget = QgsProjectionSelectionWidget(self)
        self.crs_widget.setCrs(QgsCoordinateReferenceSystem(current.output_crs))
        form.addRow(tr("Output CRS"), self.crs_widget)
        self.output_widget = QgsFileWidget(self)
        self.output_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.output_widget.setFilePath(current.output_folder)
        self.output_widget.lineEdit().setPlaceholderText(str(current.output_dir()))
        form.addRow(tr("Output folder (empty: beside the project)"), self.output_widget)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self.check_model(current.model_path)

    def show_models(self) -> None:
        dialog = ModelsDialog(self)
        dialog.modelChosen.connect(self.model_widget.setFilePath)
        dialog.exec()

    def check_model(self, path: str) -> bool:
        usable, text = describe_model(path or default_model_path())
        self.model_label.setText(text if usable else tr("Not usable: {}").format(text))
        return usable

    def values(self) -> PluginSettings:
        dem = self.dem_combo.currentLayer()
        return dataclasses.replace(
            load_settings(),
            model_path=self.model_widget.filePath(),
            device=self.device_combo.currentText(),
            precision=self.precision_combo.currentText(),
            score_threshold=self.threshold_spin.value(),
            dem_layer_id=dem.id() if dem is not None else "",
            georef=self.georef_combo.currentData(),
            output_crs=self.crs_widget.crs().authid() or "EPSG:4326",
            output_folder=self.output_widget.filePath(),
            object_length_m=self.object_spins[0].value(),
            object_width_m=self.object_spins[1].value(),
        )

    def accept(self) -> None:
        """Save, unless the model is unusable: the next Track would fail with it (the dialog says so)."""
        if not self.check_model(self.model_widget.filePath()):
            self.model_label.setText(
                self.model_label.text() + "\n" + tr("Not saved: choose a usable model, or empty the field")
            )
            self.model_widget.lineEdit().setFocus()
            return
        save_settings(self.values())
        super().accept()

