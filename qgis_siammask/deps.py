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
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from .core.definitions import PYTHON_PROBE_TIMEOUT_S

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


# pip specs as in requirements.txt (tests check they agree): numpy < 2 because the GDAL that QGIS
# ships is built against numpy 1.x; exact pins where the engine was tested with one version.
TORCH_VERSION = "2.13.0"
REQUIREMENTS = (
    Requirement("numpy", "numpy", "numpy<2", (FEATURE_VIDEO, FEATURE_TRACKING), (1, 22), (2,)),
    Requirement("av", "av", "av==18.1.0", (FEATURE_VIDEO, FEATURE_TRACKING), (10,)),
    Requirement(
        "cv2",
        "opencv-python-headless",
        "opencv-python-headless==4.11.0.86",
        (FEATURE_VIDEO, FEATURE_TRACKING),
    ),
    Requirement("torch", "torch", f"torch=={TORCH_VERSION}", (FEATURE_TRACKING,), (2, 0)),
    Requirement("pyproj", "pyproj", "pyproj>=3.0", (FEATURE_TRACKING,), (3, 0)),
    Requirement("shapely", "shapely", "shapely>=1.8", (FEATURE_TRACKING,), (1, 8)),
    Requirement("rasterio", "rasterio", "rasterio>=1.2", (FEATURE_DEM,), (1, 2)),
)
# The CPU-only torch wheels (no 2 GB of CUDA libraries on a machine without an NVIDIA GPU).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"

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

    def install_commands(
        self, find_links: str | None = None, target: str | None = None, cuda: bool | None = None
    ) -> list[list[str]]:
        """pip commands (argv lists, run in order) that install what is missing for QGIS's Python.

        Into the user site (QGIS reads it), or `target`; torch alone first, from the CPU-only index
        when no NVIDIA GPU is present (`cuda`: None = look). `find_links`: a local wheel folder
        (`--no-index`), for offline installs and tests.
        """
        if not self.problems:
            return []
        base = [self.python_executable, "-m", "pip", "install", "--disable-pip-version-check"]
        if target:
            base += ["--target", target]
        else:
            base += ["--user"] + (["--break-system-packages"] if _externally_managed() else [])
        if find_links:
            base += ["--no-index", "--find-links", find_links]
        specs = sorted({p.requirement.pip_spec for p in self.problems})
        torch = [spec for spec in specs if spec.startswith("torch")]
        others = [spec for spec in specs if not spec.startswith("torch")]
        commands = []
        if torch:
            on_cpu = not (has_nvidia_gpu() if cuda is None else cuda)
            index = ["--index-url", TORCH_CPU_INDEX] if on_cpu and not find_links else []
            commands.append(base + index + torch)
        if others:
            commands.append(base + others)
        return commands

    @property
    def pip_command(self) -> str:
        """The install commands as shell text, one a line (what the dialog's Install button runs)."""
        return "\n".join(" ".join(map(shlex.quote, command)) for command in self.install_commands())

    def summary(self) -> str:
        """One paragraph for the message bar / a dialog: what is missing, what it disables, the fix."""
        if self.ok:
            return ""
        listed = ", ".join(f"{p.requirement.module} ({p.reason})" for p in self.problems)
        disabled = [f for f in (FEATURE_VIDEO, FEATURE_TRACKING, FEATURE_DEM) if not self.available(f)]
        return (
            f"Missing or unsuitable Python packages: {listed}. Disabled: {', '.join(disabled)}. "
            "Install them with Plugins > SiamMask FMV Tracker > Python packages…, or for QGIS's Python "
            f"({self.python_executable}), then restart QGIS:\n{self.pip_command}"
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
