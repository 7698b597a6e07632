"""The plugin's user settings, kept in QgsSettings under `qgis_siammask/`, read as a frozen dataclass."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from qgis.core import QgsProject, QgsRasterLayer, QgsSettings

from .core.definitions import DEFAULT_CRS, PRECISION_FP32, PRECISIONS

SETTINGS_PREFIX = "qgis_siammask/"
DEVICES = ("auto", "cuda", "cpu")
DEFAULT_SCORE_THRESHOLD = 0.3
PLUGIN_DIR = Path(__file__).resolve().parent


def default_model_path() -> str:
    """The model shipped inside the plugin zip (models/), else the repository's model/default/."""
    for folder in (PLUGIN_DIR / "models", PLUGIN_DIR.parent / "model" / "default"):
        models = sorted(folder.glob("*.pt")) if folder.is_dir() else []
        if models:
            return str(models[0])
    return ""


def resource_path(name: str) -> str:
    """A file of resources/: inside the plugin folder once packaged, at the repository root in a checkout."""
    for folder in (PLUGIN_DIR / "resources", PLUGIN_DIR.parent / "resources"):
        if (folder / name).is_file():
            return str(folder / name)
    return ""


@dataclass(frozen=True)
class PluginSettings:
    model_path: str = ""
    device: str = "auto"
    precision: str = PRECISION_FP32
    score_threshold: float = DEFAULT_SCORE_THRESHOLD
    dem_layer_id: str = ""
    output_crs: str = DEFAULT_CRS

    @property
    def effective_model_path(self) -> str:
        return self.model_path or default_model_path()

    def dem_path(self, project: QgsProject | None = None) -> str | None:
        """The file behind the chosen DEM layer of the project, or None (flat terrain)."""
        if not self.dem_layer_id:
            return None
        layer = (project or QgsProject.instance()).mapLayer(self.dem_layer_id)
        if not isinstance(layer, QgsRasterLayer) or not layer.isValid():
            return None
        return layer.dataProvider().dataSourceUri().split("|")[0]


def load_settings() -> PluginSettings:
    settings = QgsSettings()
    device = str(settings.value(SETTINGS_PREFIX + "device", "auto"))
    precision = str(settings.value(SETTINGS_PREFIX + "precision", PRECISION_FP32))
    try:
        threshold = float(settings.value(SETTINGS_PREFIX + "score_threshold", DEFAULT_SCORE_THRESHOLD))
    except (TypeError, ValueError):
        threshold = DEFAULT_SCORE_THRESHOLD
    return PluginSettings(
        model_path=str(settings.value(SETTINGS_PREFIX + "model_path", "") or ""),
        device=device if device in DEVICES else "auto",
        precision=precision if precision in PRECISIONS else PRECISION_FP32,
        score_threshold=min(max(threshold, 0.0), 1.0),
        dem_layer_id=str(settings.value(SETTINGS_PREFIX + "dem_layer_id", "") or ""),
        output_crs=str(settings.value(SETTINGS_PREFIX + "output_crs", DEFAULT_CRS) or DEFAULT_CRS),
    )


def save_settings(values: PluginSettings) -> None:
    settings = QgsSettings()
    for name in ("model_path", "device", "precision", "score_threshold", "dem_layer_id", "output_crs"):
        settings.setValue(SETTINGS_PREFIX + name, getattr(values, name))
