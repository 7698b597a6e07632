"""The models a user can get by name, and where model files live.

The authors' checkpoints are published with the SiamMask code (MIT licence) at the addresses below. No
sha256 is published for them, so `sha256` stays empty until pinned; downloads are checked by size range
and by a strict name/shape load into the architecture, and the sha256 found is recorded in the model.
The three share the "sharp" architecture (ResNet-50, mask and refinement branches) and are converted
with the authors' DAVIS tracking settings (`ModelConfig` defaults).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..definitions import DEFAULT_MODEL_DIR, MODEL_DIR_ENV
from ..errors import ModelError

RESNET50_CHECKPOINT_BYTES = (50_000_000, 200_000_000)  # the authors' releases are about 86 MB


@dataclass(frozen=True)
class CatalogueEntry:
    """A downloadable model: its checkpoint's address, the checks it must pass, the file it becomes."""

    name: str  # what `models fetch NAME` takes
    title: str
    url: str
    checkpoint_file: str  # the checkpoint's file name in the model folder
    size_range_bytes: tuple[int, int]
    sha256: str = ""  # pinned digest of the checkpoint; empty: not published, recorded on download
    description: str = ""

    @property
    def model_file(self) -> str:
        """The TorchScript file the checkpoint is converted to, e.g. siammask-davis.pt."""
        return f"{self.name}.pt"


CATALOGUE = (
    CatalogueEntry("siammask-davis", "SiamMask DAVIS (authors', ResNet-50, refined masks)",
                   "http://www.robots.ox.ac.uk/~qwang/SiamMask_DAVIS.pth", "SiamMask_DAVIS.pth",
                   RESNET50_CHECKPOINT_BYTES,
                   description="trained by the authors on YouTube-VOS, COCO, ImageNet: the model for real video"),
    CatalogueEntry("siammask-vot", "SiamMask VOT (authors', ResNet-50)",
                   "http://www.robots.ox.ac.uk/~qwang/SiamMask_VOT.pth", "SiamMask_VOT.pth",
                   RESNET50_CHECKPOINT_BYTES, description="the authors' VOT benchmark weights"),
    CatalogueEntry("siammask-vot-ld", "SiamMask VOT-LD (authors', ResNet-50, more training data)",
                   "http://www.robots.ox.ac.uk/~qwang/SiamMask_VOT_LD.pth", "SiamMask_VOT_LD.pth",
                   RESNET50_CHECKPOINT_BYTES, description="the authors' VOT weights trained on larger data"),
)


def catalogue_entry(name: str) -> CatalogueEntry:
    for entry in CATALOGUE:
        if entry.name == name:
            return entry
    raise ModelError(f"no model named {name!r} in the catalogue (known: {', '.join(e.name for e in CATALOGUE)})")


def default_model_dir() -> Path:
    """The headless model folder: $SIAMMASK_MODEL_DIR, else $XDG_DATA_HOME/qgis-siammask/models, else
    ~/.local/share/qgis-siammask/models. In QGIS the plugin passes its profile folder instead."""
    if os.environ.get(MODEL_DIR_ENV):
        return Path(os.environ[MODEL_DIR_ENV]).expanduser()
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]) / "qgis-siammask" / "models"
    return Path(DEFAULT_MODEL_DIR).expanduser()


def bundled_model_dirs() -> list[Path]:
    """Where the demo model ships: the plugin's models/ (zip install), else the checkout's model/default/."""
    package = Path(__file__).resolve().parents[2]
    return [folder for folder in (package / "models", package.parent / "model" / "default") if folder.is_dir()]
