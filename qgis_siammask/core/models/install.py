"""From a downloaded or picked file to a listed model: checks, conversion to a model file, listing.

A model is a `*.pt` TorchScript file or a `*.pt2` torch.export archive with SiamMask metadata in a model
folder. Conversion writes through a temporary file and renames it, a download is renamed from `.part`
only after its checks, and listing takes only such files whose metadata reads: a half-written or
half-downloaded file is never listed.
"""
from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..definitions import (
    MODEL_EXPORT_SUFFIX,
    MODEL_METADATA_FILE,
    MODEL_SOURCE_BUNDLED,
    PARTIAL_DOWNLOAD_SUFFIX,
    PARTIAL_OUTPUT_INFIX,
)
from ..errors import DependencyError, DownloadCancelled, DownloadError, ModelError, SiamMaskError
from ..files import sha256_of
from ..tracking.model_file import is_export_archive
from ..tracking.network.config import ModelMetadata
from .catalogue import CatalogueEntry, bundled_model_dirs
from .download import Progress, download


@dataclass(frozen=True)
class InstalledModel:
    """A usable model file and what its metadata says (read without torch)."""

    path: Path
    metadata: ModelMetadata
    size_bytes: int
    bundled: bool

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def file_format(self) -> str:
        """The file's format, by content: torch.export (torch >= 2.8 reads it) or TorchScript (every torch)."""
        return "torch.export" if is_export_archive(self.path) else "TorchScript"

    @property
    def source(self) -> str:
        """Where the weights came from: the download address, else the checkpoint file, else 'bundled'."""
        if self.bundled:
            return MODEL_SOURCE_BUNDLED
        return self.metadata.source_url or self.metadata.source_checkpoint


def list_models(model_dir: Path | None, include_bundled: bool = True) -> list[InstalledModel]:
    """The bundled demo model(s), then the models in `model_dir`, by name."""
    folders = [(folder, True) for folder in (bundled_model_dirs() if include_bundled else [])]
    folders += [(model_dir, False)] if model_dir is not None and model_dir.is_dir() else []
    models = []
    for folder, bundled in folders:
        for path in sorted([*folder.glob("*.pt"), *folder.glob(f"*{MODEL_EXPORT_SUFFIX}")]):
            if path.stem.endswith(PARTIAL_OUTPUT_INFIX):
                continue  # a conversion in progress (files.atomic_output)
            try:
                models.append(InstalledModel(path, ModelMetadata.read(path), path.stat().st_size, bundled))
            except (ModelError, OSError):
                continue  # not a SiamMask model: not offered
    return models


def is_model_file(path: Path) -> bool:
    """A TorchScript file or torch.export archive carrying SiamMask metadata (checkpoints saved by
    torch >= 1.6 are zips too, without it)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return any(n.endswith(f"/extra/{MODEL_METADATA_FILE}") for n in archive.namelist())
    except (zipfile.BadZipFile, OSError):
        return False  # not a zip: a legacy-format checkpoint, or not a model at all


def convert_model_file(source: Path, out: Path, source_url: str = "", overrides: dict | None = None) -> Path:
    """A model at `out` (TorchScript, or a torch.export archive when `out` ends in .pt2) from `source`: an
    official-format or `model.train` checkpoint (strict name/shape load, then export), or a model file of
    either format (written again with this torch)."""
    try:
        from ..tracking.network.export import export_torchscript, rewrite_model_file  # torch: only here
    except ImportError as error:
        raise DependencyError("PyTorch is not installed; converting a model needs it (pip install torch)",
                              details=str(error)) from error

    source, out = Path(source), Path(out)
    if not source.is_file():
        raise ModelError("file not found", path=source)
    if is_model_file(source):
        if overrides:
            raise ModelError("settings can only be changed when converting a checkpoint", path=source)
        return rewrite_model_file(source, out)
    return export_torchscript(source, out, overrides=overrides, source_url=source_url)


def partial_path(model_dir: Path, entry: CatalogueEntry) -> Path:
    return model_dir / (entry.checkpoint_file + PARTIAL_DOWNLOAD_SUFFIX)


def install_download(part: Path, entry: CatalogueEntry, model_dir: Path, url: str) -> Path:
    """Check a finished download (size range, pinned sha256), keep it as the checkpoint, convert it.

    A file failing a check is deleted (a retry starts afresh) and ModelError says what was wrong.
    """
    size = part.stat().st_size
    low, high = entry.size_range_bytes
    if not low <= size <= high:
        part.unlink()
        raise ModelError(f"the download from {url} has {size} bytes, not the {low / 1e6:.0f}-{high / 1e6:.0f} MB "
                         f"of {entry.checkpoint_file}: truncated, or another file", path=part)
    if entry.sha256 and sha256_of(part) != entry.sha256:
        part.unlink()
        raise ModelError(f"the download from {url} is not the published {entry.checkpoint_file} (sha256 differs)",
                         path=part)
    checkpoint = model_dir / entry.checkpoint_file
    part.replace(checkpoint)
    try:
        return convert_model_file(checkpoint, model_dir / entry.model_file, source_url=url)
    except SiamMaskError:
        checkpoint.unlink(missing_ok=True)
        raise


def fetch_model(entry: CatalogueEntry, model_dir: Path, url: str | None = None, progress: Progress | None = None,
                is_cancelled=None) -> Path:
    """Download (resuming a partial file) and convert a catalogue model with urllib; the .pt path.
    A checkpoint already in `model_dir` (downloaded before, or put there by hand) is converted as it is."""
    url = url or entry.url
    if (model_dir / entry.checkpoint_file).is_file():
        return convert_model_file(model_dir / entry.checkpoint_file, model_dir / entry.model_file, source_url=url)
    try:
        part = download(url, partial_path(model_dir, entry), progress=progress, is_cancelled=is_cancelled)
    except DownloadCancelled:
        raise
    except DownloadError as error:  # offline: say where a copy from a connected machine goes
        raise DownloadError(f"{error.user_message}, or copy {entry.checkpoint_file} from a connected machine "
                            f"into {model_dir} and run this again", details=error.details) from error
    return install_download(part, entry, model_dir, url)
