"""The plugin's settings, read as one frozen dataclass, kept where their scope says.

Plugin-wide (model, device, precision, score threshold, the fallback output folder) in QgsSettings
under `qgis_siammask/`; bound to a project (DEM layer, output CRS, output folder, georeferencing mode) in
the project file (`QgsProject.writeEntry`), so another project never gets a layer id that is not its own.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from qgis.core import QgsApplication, QgsProject, QgsRasterLayer, QgsSettings

from .core.definitions import (
    DEFAULT_CRS,
    DEFAULT_OBJECT_SIZE_M,
    DEFAULT_SCORE_THRESHOLD,
    DEVICES,
    GEOREF_MODES,
    GEOREF_ST0601,
    OUTPUT_SUBFOLDER,
    PRECISION_FP32,
    PRECISIONS,
    PROJECT_ENTRY_DEM_LAYER,
    PROJECT_ENTRY_GEOREF,
    PROJECT_ENTRY_OUTPUT_CRS,
    PROJECT_ENTRY_OUTPUT_FOLDER,
    PROJECT_SCOPE,
)
from .core.packages.installer import PipOptions, package_folder

SETTINGS_PREFIX = "qgis_siammask/"
PLUGIN_DIR = Path(__file__).resolve().parent
_PLUGIN_WIDE = ("model_path", "device", "precision", "score_threshold", "default_output_folder",
                "object_length_m", "object_width_m")
_PROJECT_ENTRIES = {
    "dem_layer_id": PROJECT_ENTRY_DEM_LAYER,
    "output_crs": PROJECT_ENTRY_OUTPUT_CRS,
    "output_folder": PROJECT_ENTRY_OUTPUT_FOLDER,
    "georef": PROJECT_ENTRY_GEOREF,
}


def fallback_output_folder() -> str:
    """Where runs go when the project is not saved and no folder is chosen: in the user's home."""
    return str(Path.home() / OUTPUT_SUBFOLDER)


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
    default_output_folder: str = ""
    dem_layer_id: str = ""
    output_crs: str = DEFAULT_CRS
    output_folder: str = ""
    georef: str = GEOREF_ST0601  # how frames are put on the ground (definitions.GEOREF_MODES)
    object_length_m: float = DEFAULT_OBJECT_SIZE_M[0]  # one-click start: the box of an object this big
    object_width_m: float = DEFAULT_OBJECT_SIZE_M[1]

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


    def output_dir(self, project: QgsProject | None = None) -> Path:
        """Where a run's GeoPackage goes: the project's chosen folder, else `siammask_tracks/` beside the
        saved project, else the plugin-wide folder (default `~/siammask_tracks`)."""
        home = (project or QgsProject.instance()).homePath()
        if self.output_folder:
            return Path(self.output_folder)
        if home:
            return Path(home) / OUTPUT_SUBFOLDER
        return Path(self.default_output_folder or fallback_output_folder())


def run_output_path(folder: Path, stem: str) -> Path:
    """A run's new GeoPackage in `folder`: `STEM_YYYYmmdd_HHMMSS.gpkg` (UTC), `..._2.gpkg`, `..._3.gpkg`
    for more runs in the same second, so runs never overwrite one another (nor one still writing its
    partial file)."""
    from .core.files import partial_path

    name = f"{stem}_{datetime.now(timezone.utc).strftime('%Y%m%d_%H%M%S')}"
    path, number = folder / f"{name}.gpkg", 1
    while path.exists() or partial_path(path).exists():
        number += 1
        path = folder / f"{name}_{number}.gpkg"
    return path


def load_settings(project: QgsProject | None = None) -> PluginSettings:
    settings = QgsSettings()
    project = project or QgsProject.instance()
    device = str(settings.value(SETTINGS_PREFIX + "device", "auto"))
    precision = str(settings.value(SETTINGS_PREFIX + "precision", PRECISION_FP32))
    try:
        threshold = float(settings.value(SETTINGS_PREFIX + "score_threshold", DEFAULT_SCORE_THRESHOLD))
    except (TypeError, ValueError):
        threshold = DEFAULT_SCORE_THRESHOLD
    entries = {field: project.readEntry(PROJECT_SCOPE, key, "")[0] for field, key in _PROJECT_ENTRIES.items()}
    length, width = (settings.value(SETTINGS_PREFIX + name) for name in ("object_length_m", "object_width_m"))
    return PluginSettings(
        model_path=str(settings.value(SETTINGS_PREFIX + "model_path", "") or ""),
        device=device if device in DEVICES else "auto",
        precision=precision if precision in PRECISIONS else PRECISION_FP32,
        score_threshold=min(max(threshold, 0.0), 1.0),
        default_output_folder=str(settings.value(SETTINGS_PREFIX + "default_output_folder", "") or ""),
        dem_layer_id=entries["dem_layer_id"],
        output_crs=entries["output_crs"] or DEFAULT_CRS,
        output_folder=entries["output_folder"],
        georef=entries["georef"] if entries["georef"] in GEOREF_MODES else GEOREF_ST0601,
        object_length_m=_positive(length, DEFAULT_OBJECT_SIZE_M[0]),
        object_width_m=_positive(width, DEFAULT_OBJECT_SIZE_M[1]),
    )


def _positive(value, default: float) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if number > 0 else default


def save_settings(values: PluginSettings, project: QgsProject | None = None) -> None:
    settings = QgsSettings()
    for name in _PLUGIN_WIDE:
        settings.setValue(SETTINGS_PREFIX + name, getattr(values, name))
    project = project or QgsProject.instance()
    for field, key in _PROJECT_ENTRIES.items():
        if project.readEntry(PROJECT_SCOPE, key, "")[0] != getattr(values, field):
            project.writeEntry(PROJECT_SCOPE, key, getattr(values, field))


def plugin_package_folder() -> Path:
    """The plugin's own folder of Python packages, under the QGIS profile, for QGIS's Python version."""
    return package_folder(QgsApplication.qgisSettingsDirPath())


_PIP_KEYS = ("pip_index_url", "pip_extra_index_url", "pip_find_links", "pip_args", "pip_torch_index_url")


def load_pip_options() -> PipOptions:
    """Where the installer gets packages (a corporate mirror, a local wheel folder, more pip arguments);
    an empty PyTorch index means automatic (installer.torch_index)."""
    settings = QgsSettings()
    index, extra, links, args, torch = (str(settings.value(SETTINGS_PREFIX + key, "") or "").strip()
                                        for key in _PIP_KEYS)
    try:
        pip_args = tuple(shlex.split(args))
    except ValueError:  # an unbalanced quote: taken as it is, pip names it
        pip_args = tuple(args.split())
    return PipOptions(index, (extra,) if extra else (), (links,) if links else (), pip_args, torch or None)


def save_pip_options(options: PipOptions) -> None:
    values = (options.index_url, " ".join(options.extra_index_urls), " ".join(options.find_links),
              shlex.join(options.pip_args), options.torch_index_url or "")
    settings = QgsSettings()
    for key, value in zip(_PIP_KEYS, values):
        settings.setValue(SETTINGS_PREFIX + key, value)
