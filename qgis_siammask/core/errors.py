"""One exception family for everything the engine reports to a user.

Each error carries a short user-facing message (what went wrong and with which file) and optional
technical details, so the CLI, the QGIS message bar and the Processing log can all show the same text.
"""
from __future__ import annotations

from pathlib import Path


class SiamMaskError(Exception):
    """Base class: `user_message` is shown to the analyst; `details` goes to logs."""

    def __init__(self, user_message: str, details: str = "", path: str | Path | None = None):
        self.path = str(path) if path is not None else None
        self.user_message = f"{self.path}: {user_message}" if self.path else user_message
        self.details = details
        super().__init__(self.user_message)

    def __str__(self) -> str:
        return self.user_message if not self.details else f"{self.user_message} ({self.details})"


class InputFileError(SiamMaskError):
    """A file that cannot be opened or read (missing, unreadable, wrong format)."""


class VideoError(SiamMaskError):
    """A video that cannot be decoded or sought."""


class TelemetryError(SiamMaskError):
    """Telemetry (KLV, SRT, CSV) that cannot be parsed at all; single bad packets are counted instead."""


class ModelError(SiamMaskError):
    """A checkpoint or TorchScript model that cannot be loaded or does not match the architecture."""


class TrackerError(SiamMaskError):
    """Bad tracker input: an empty, negative or fully outside box, a frame of the wrong shape."""


class ProjectionError(SiamMaskError):
    """Telemetry or terrain that cannot define a camera model (NaN position, zero FOV, no DEM CRS)."""


class OutputError(SiamMaskError):
    """An output that cannot be written (unwritable path, full disk); earlier output is kept."""


class DependencyError(SiamMaskError):
    """A Python package the feature needs is not installed."""


class DownloadError(SiamMaskError):
    """A download that failed (HTTP error, a web page instead of the file, a dropped connection)."""


class DownloadCancelled(DownloadError):
    """The user cancelled a download; its partial file is kept so that the next try resumes it."""
