"""Which Python packages the plugin needs, and whether the Python running QGIS has them.

Checked with `importlib.util.find_spec` and package metadata only: nothing is imported, so a missing
or broken torch can never turn the plugin's start-up into a traceback. Pure Python (no qgis) so the
check is testable in a plain subprocess.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shlex
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

FEATURE_VIDEO = "video"
FEATURE_TRACKING = "tracking"
FEATURE_DEM = "dem"
FEATURE_BATCH = "batch"


@dataclass(frozen=True)
class Requirement:
    """One importable module, the pip distribution that provides it, and the features that need it."""

    module: str
    distribution: str
    pip_spec: str
    features: tuple[str, ...]
    min_version: tuple[int, ...] = ()
    below_version: tuple[int, ...] = ()


REQUIREMENTS = (
    Requirement("numpy", "numpy", "numpy<2", (FEATURE_VIDEO, FEATURE_TRACKING), (1, 22), (2,)),
    Requirement("av", "av", "av", (FEATURE_VIDEO, FEATURE_TRACKING), (10,)),
    Requirement("cv2", "opencv-python-headless", "opencv-python-headless", (FEATURE_VIDEO, FEATURE_TRACKING)),
    Requirement("torch", "torch", "torch", (FEATURE_TRACKING,), (2, 0)),
    Requirement("pyproj", "pyproj", "pyproj", (FEATURE_TRACKING,), (3, 0)),
    Requirement("shapely", "shapely", "shapely", (FEATURE_TRACKING,), (1, 8)),
    Requirement("rasterio", "rasterio", "rasterio", (FEATURE_DEM,), (1, 2)),
)

# Optional, for batch tracking only: checked when the batch algorithm runs, not at start-up.
BATCH_REQUIREMENTS = (
    Requirement("distributed", "distributed", "dask[distributed]", (FEATURE_BATCH,), (2024,)),
)

# Distributions that provide a module under another distribution name (e.g. opencv-python vs -headless).
_ALTERNATIVE_DISTRIBUTIONS = {"cv2": ("opencv-python-headless", "opencv-python", "opencv-contrib-python")}


@dataclass(frozen=True)
class Problem:
    requirement: Requirement
    reason: str  # "missing" or "version X (needs ...)"


@dataclass(frozen=True)
class DependencyReport:
    problems: tuple[Problem, ...]
    python_executable: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def available(self, feature: str) -> bool:
        return not any(feature in p.requirement.features for p in self.problems)

    @property
    def missing_modules(self) -> list[str]:
        return [p.requirement.module for p in self.problems]

    @property
    def pip_command(self) -> str:
        """The exact command that installs what is missing into the Python running QGIS."""
        specs = sorted({p.requirement.pip_spec for p in self.problems})
        extra = ["--user", "--break-system-packages"] if _externally_managed() else []
        return " ".join(
            [shlex.quote(self.python_executable), "-m", "pip", "install", *extra, *map(shlex.quote, specs)]
        )

    def summary(self) -> str:
        """One paragraph for the message bar / a dialog: what is missing, what it disables, the fix."""
        if self.ok:
            return ""
        listed = ", ".join(f"{p.requirement.module} ({p.reason})" for p in self.problems)
        disabled = [f for f in (FEATURE_VIDEO, FEATURE_TRACKING, FEATURE_DEM) if not self.available(f)]
        return (
            f"Missing or unsuitable Python packages: {listed}. Disabled: {', '.join(disabled)}. "
            f"Install them for QGIS's Python, then restart QGIS:\n{self.pip_command}"
        )


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split("+")[0].split("."):
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def _installed_version(requirement: Requirement) -> str | None:
    for name in _ALTERNATIVE_DISTRIBUTIONS.get(requirement.module, (requirement.distribution,)):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def _module_present(module: str) -> bool:
    if module in sys.modules and sys.modules[module] is None:  # explicitly blocked
        return False
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def _check(requirement: Requirement) -> Problem | None:
    if not _module_present(requirement.module):
        return Problem(requirement, "missing")
    version_text = _installed_version(requirement)
    if version_text is None:  # e.g. a Debian package without metadata: present is good enough
        return None
    version = _version_tuple(version_text)
    if requirement.min_version and version < requirement.min_version:
        needed = ".".join(map(str, requirement.min_version))
        return Problem(requirement, f"version {version_text}, needs >= {needed}")
    if requirement.below_version and version >= requirement.below_version:
        limit = ".".join(map(str, requirement.below_version))
        return Problem(requirement, f"version {version_text}, needs < {limit}")
    return None


def qgis_python_executable() -> str:
    """The Python interpreter behind QGIS. Inside QGIS `sys.executable` is often the qgis binary."""
    candidates = [sys.executable, getattr(sys, "_base_executable", "")]
    for candidate in candidates:
        if candidate and Path(candidate).name.lower().startswith("python"):
            return candidate
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    for folder in (Path(sys.exec_prefix) / "bin", Path(sys.exec_prefix)):
        for name in (f"python{version}", "python3", "python3.exe", "python.exe"):
            if (folder / name).exists():
                return str(folder / name)
    return "python3"


def _externally_managed() -> bool:
    """PEP 668 (Debian/Ubuntu system Python): pip refuses system-wide installs without these flags."""
    stdlib = sysconfig.get_paths().get("stdlib", "")
    return (
        bool(stdlib)
        and os.path.exists(os.path.join(stdlib, "EXTERNALLY-MANAGED"))
        and sys.prefix == sys.base_prefix
    )


def check_dependencies(requirements=REQUIREMENTS) -> DependencyReport:
    problems = tuple(p for p in (_check(r) for r in requirements) if p is not None)
    return DependencyReport(problems=problems, python_executable=qgis_python_executable())
