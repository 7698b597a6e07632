"""Which Python packages the plugin needs, and whether the Python running QGIS has them.

Checked with `importlib.util.find_spec` and package metadata only: nothing is imported, so a missing
or broken torch can never turn the plugin's start-up into a traceback. Pure Python (no qgis) so the
check is testable in a plain subprocess.
"""

from __future__ import annotations

import functools
import importlib.metadata
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..definitions import PYTHON_PROBE_TIMEOUT_S

FEATURE_VIDEO = "video"
FEATURE_TRACKING = "tracking"
FEATURE_DEM = "dem"
FEATURE_BATCH = "batch"


@dataclass(frozen=True)
class Requirement:
    """One importable module, the pip distribution that provides it, the features that need it, and the
    versions the engine works with (`min_version` <= v < `below_version`; empty: unbounded)."""

    module: str
    distribution: str
    features: tuple[str, ...]
    min_version: tuple[int, ...] = ()
    below_version: tuple[int, ...] = ()
    pip_name: str = ""  # what pip installs, when not the distribution (e.g. with extras)

    @property
    def pip_spec(self) -> str:
        """The range as pip reads it, e.g. `torch>=2.0`, `opencv-python-headless>=4.5,<5`."""
        bounds = [f">={_dotted(self.min_version)}"] if self.min_version else []
        bounds += [f"<{_dotted(self.below_version)}"] if self.below_version else []
        return (self.pip_name or self.distribution) + ",".join(bounds)

    def accepts(self, version_text: str) -> bool:
        version = _version_tuple(version_text)
        return (not self.min_version or version >= self.min_version) and (
            not self.below_version or version < self.below_version
        )


def _dotted(version: tuple[int, ...]) -> str:
    return ".".join(map(str, version))


# The runtime ranges, here only (requirements.txt pins the dev venv inside them; a test checks it).
# Ranges, not pins: the installer never touches a package QGIS's Python has (numpy 1.x or 2.x, as its
# GDAL was built), and pip picks the newest wheel of the rest for QGIS's Python (3.9 to 3.13).
REQUIREMENTS = (
    Requirement("numpy", "numpy", (FEATURE_VIDEO, FEATURE_TRACKING), (1, 22)),
    Requirement("av", "av", (FEATURE_VIDEO, FEATURE_TRACKING), (10,)),
    Requirement("cv2", "opencv-python-headless", (FEATURE_VIDEO, FEATURE_TRACKING), (4, 5), (5,)),
    Requirement("torch", "torch", (FEATURE_TRACKING,), (2, 0)),
    Requirement("pyproj", "pyproj", (FEATURE_TRACKING,), (3, 0)),
    Requirement("shapely", "shapely", (FEATURE_TRACKING,), (1, 8)),
    Requirement("rasterio", "rasterio", (FEATURE_DEM,), (1, 2)),
)
# The CPU-only torch wheels (no 3 GB of CUDA libraries on a machine without an NVIDIA GPU), and the CUDA
# ones for Windows, whose PyPI wheels are CPU-only.
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
TORCH_CUDA_INDEX = "https://download.pytorch.org/whl/cu128"

# Optional, for batch tracking only: checked when the batch algorithm runs, not at start-up.
BATCH_REQUIREMENTS = (
    Requirement("distributed", "distributed", (FEATURE_BATCH,), (2024,), pip_name="dask[distributed]"),
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
    package_folder: str = ""  # the plugin's own folder, where the installer puts what is missing

    @property
    def ok(self) -> bool:
        return not self.problems

    def available(self, feature: str) -> bool:
        return not any(feature in p.requirement.features for p in self.problems)

    @property
    def missing_modules(self) -> list[str]:
        return [p.requirement.module for p in self.problems]

    @property
    def pip_specs(self) -> list[str]:
        """What to install: the unsuitable or missing requirements as pip ranges."""
        return sorted({p.requirement.pip_spec for p in self.problems})

    @property
    def install_command(self) -> str:
        """The headless install of what is missing into the plugin's folder (as the dialog does it)."""
        batch = any(FEATURE_BATCH in p.requirement.features for p in self.problems)
        return " ".join(map(shlex.quote, [self.python_executable, "-m", "qgis_siammask", "deps", "install",
                                          "--target", self.package_folder or "FOLDER"]
                            + (["--with-batch"] if batch else [])))

    def summary(self) -> str:
        """One paragraph for the message bar / a dialog: what is missing, what it disables, the fix."""
        if self.ok:
            return ""
        listed = ", ".join(f"{p.requirement.module} ({p.reason})" for p in self.problems)
        features = (FEATURE_VIDEO, FEATURE_TRACKING, FEATURE_DEM, FEATURE_BATCH)
        disabled = [f for f in features if not self.available(f)]
        return (
            f"Missing or unsuitable Python packages: {listed}; needed: {', '.join(self.pip_specs)}. "
            f"Disabled: {', '.join(disabled)}. "
            "Install them with Plugins > SiamMask FMV Tracker > Python packages…, or with QGIS's Python "
            f"({self.python_executable}) from the plugins folder, then restart QGIS:\n{self.install_command}"
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
    if not requirement.accepts(version_text):
        needed = requirement.pip_spec[len(requirement.pip_name or requirement.distribution):]
        return Problem(requirement, f"version {version_text}, needs {needed}")
    return None


def python_candidates(platform: str, prefix: str, version: tuple[int, int]) -> list[Path]:
    """Where an installation rooted at `prefix` keeps its interpreter: Windows (OSGeo4W, standalone
    installer: `<prefix>/python.exe`; a venv: `<prefix>/Scripts/python.exe`), macOS (QGIS.app's
    framework) and Linux: `<prefix>/bin/pythonX.Y`."""
    root = Path(prefix)
    if platform.startswith("win"):
        return [root / "python.exe", root / "python3.exe", root / "Scripts" / "python.exe"]
    return [root / "bin" / f"python{version[0]}.{version[1]}", root / "bin" / "python3"]


@functools.lru_cache(maxsize=None)
def python_version_of(path: str) -> tuple[int, ...] | None:
    """(major, minor, micro) of the interpreter at `path`, asked by running it; None if it is not an
    executable Python."""
    if not os.path.isfile(path) or not os.access(path, os.X_OK):
        return None
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)  # no console flashing up on Windows
    try:
        done = subprocess.run(
            [path, "-I", "-c", "import sys; print(*sys.version_info[:3])"],
            capture_output=True, text=True, timeout=PYTHON_PROBE_TIMEOUT_S, creationflags=flags,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    try:
        return tuple(int(part) for part in done.stdout.split()) if done.returncode == 0 else None
    except ValueError:
        return None


def qgis_python_executable(
    platform: str = sys.platform,
    executable: str = sys.executable,
    prefixes: tuple[str, ...] = (sys.prefix, sys.base_prefix),
    version: tuple[int, ...] = tuple(sys.version_info[:3]),
    version_of=python_version_of,
) -> str:
    """The Python interpreter running this code, derived from the running prefixes (a venv's first,
    then the base installation's), each candidate run to check it is this exact Python version.

    `sys.executable` is not trusted: inside QGIS it is QGIS itself (qgis, qgis-bin.exe,
    QGIS.app/Contents/MacOS/QGIS) or whatever `python3` is first on PATH (a pyenv shim of another
    Python). It is the answer only when no candidate checks out and it is named like a Python."""
    candidates = [
        candidate
        for prefix in dict.fromkeys(prefixes)  # a venv's prefix, then its base (the same when no venv)
        for candidate in python_candidates(platform, prefix, version)
    ]
    for candidate in candidates:
        if version_of(str(candidate)) == tuple(version):
            return str(candidate)
    if Path(executable).name.lower().startswith("python"):
        return executable
    return str(candidates[0])


def has_nvidia_gpu() -> bool:
    """Whether an NVIDIA driver is present (the CUDA torch wheels are worth their size), without torch."""
    return bool(shutil.which("nvidia-smi")) or os.path.exists("/proc/driver/nvidia/version")


def check_dependencies(requirements=REQUIREMENTS, package_folder: str = "") -> DependencyReport:
    problems = tuple(p for p in (_check(r) for r in requirements) if p is not None)
    return DependencyReport(problems, qgis_python_executable(), package_folder)
