"""Installs the plugin's Python packages into a folder of its own, never touching QGIS's Python.

The folder (`<QGIS profile>/siammask/python/py3XY`, one per Python version) is appended to `sys.path`
at start-up, after QGIS's own site-packages, so nothing in it can shadow what QGIS ships. Every
distribution QGIS's Python already has goes to pip as a constraint (`name==installed version`), and
pip resolves first (`--dry-run --report`, wheels only); then only what QGIS lacks is installed, with
`--no-deps`, into a temporary folder beside the target that replaces it only when pip succeeded. A
failed or cancelled install leaves QGIS and the old folder exactly as they were.

Pure Python (no qgis): the same code runs in the dialog (through `python -m qgis_siammask deps`) and
headless.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .deps import TORCH_CPU_INDEX, TORCH_CUDA_INDEX, has_nvidia_gpu

PACKAGE_FOLDER_PARTS = ("siammask", "python")
STAGED_SUFFIX = ".next"  # a complete install waiting for the next start (Windows: the old one was in use)
TEMPORARY_MARK = ".tmp-"
SIZE_PROBE_TIMEOUT_S = 10.0
PIP_MIN_VERSION = (22, 2)  # `install --dry-run --report`
# PEP 440 versions only: pip rejects a constraints file with anything else ("1.2-debian"); a placeholder
# version (Debian 12's mpmath says 0.0.0 and is 1.2.1) would make what needs it unsatisfiable. Both are
# left out of the constraints, and still never installed.
_PLACEHOLDER_VERSIONS = {"0", "0.0", "0.0.0"}
_PEP440 = re.compile(r"^\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9.]+)?$", re.IGNORECASE)

Log = Callable[[str], None]
# pip's line for a requirement the Python has already: "Requirement already satisfied: name[extra]>=1 in ..."
_SATISFIED = re.compile(r"^Requirement already satisfied: ([A-Za-z0-9][A-Za-z0-9._-]*)")


class InstallError(Exception):
    """pip failed or was stopped; the target folder is unchanged."""


def package_folder(profile_dir: str | os.PathLike,
                   version: tuple[int, ...] = tuple(sys.version_info)) -> Path:
    """The plugin's own package folder for this Python version, under the QGIS profile."""
    return Path(profile_dir).joinpath(*PACKAGE_FOLDER_PARTS, f"py{version[0]}{version[1]}")


def activate_package_folder(folder: str | os.PathLike) -> bool:
    """Append `folder` to `sys.path` (after QGIS's own site-packages), first putting a staged install in
    place. Returns whether the folder exists and is on the path."""
    folder = Path(folder)
    staged = folder.with_name(folder.name + STAGED_SUFFIX)
    if staged.is_dir():
        try:
            _replace_folder(staged, folder)
        except OSError:
            pass  # still in use: the old folder serves this session, the swap is tried next start
    if not folder.is_dir():
        return False
    if str(folder) not in sys.path:
        sys.path.append(str(folder))
    return True


def canonical_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_distributions(paths: Iterable[str] | None = None,
                            exclude: Iterable[str] = ()) -> dict[str, str]:
    """{canonical name: version} of every distribution visible on `paths` (default `sys.path`), leaving
    out the path entries under `exclude` (the plugin's own folder: its packages are ours to replace)."""
    excluded = [Path(e).resolve() for e in exclude]

    def kept(entry: str) -> bool:
        try:
            resolved = Path(entry or ".").resolve()
        except OSError:
            return False
        return not any(resolved == e or e in resolved.parents or resolved.name.startswith(e.name)
                       and resolved.parent == e.parent for e in excluded)

    found: dict[str, str] = {}
    searched = [p for p in (sys.path if paths is None else paths) if kept(p)]
    for distribution in importlib.metadata.distributions(path=searched):
        name = distribution.metadata["Name"]
        if name:
            found.setdefault(canonical_name(name), distribution.version)  # first on the path wins
    return found


def read_constraints(path: str | os.PathLike) -> dict[str, str]:
    """`name==version` lines (as written by `write_constraints`) as {canonical name: version}."""
    found = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name and version:
            found[canonical_name(name)] = version.strip()
    return found


def write_constraints(installed: dict[str, str], path: str | os.PathLike) -> None:
    lines = [f"{name}=={version}" for name, version in sorted(installed.items())
             if _PEP440.match(version) and version not in _PLACEHOLDER_VERSIONS]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


@dataclass(frozen=True)
class PipOptions:
    """Where packages come from: an index (a corporate mirror), extra indexes, local wheel folders
    (`--find-links`), free pip arguments, and the PyTorch index (None: chosen by `torch_index`)."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    pip_args: tuple[str, ...] = ()
    torch_index_url: str | None = None

    def source_args(self, torch_index: str = "") -> list[str]:
        args = ["--index-url", self.index_url] if self.index_url else []
        for url in (*self.extra_index_urls, torch_index):
            if url:
                args += ["--extra-index-url", url]
        for folder in self.find_links:
            args += ["--find-links", folder]
        return args + list(self.pip_args)


def torch_index(options: PipOptions, platform: str = sys.platform, gpu: bool | None = None) -> str:
    """The extra index PyTorch comes from ("" = the main index): the user's choice, else none where the
    user named their own sources (a mirror or wheel folder has to carry torch itself); else the CPU-only
    wheels without an NVIDIA GPU on Linux and Windows (no 3 GB of CUDA libraries), the CUDA wheels with
    one on Windows (its PyPI wheels are CPU-only), PyPI's own elsewhere."""
    if options.torch_index_url is not None:
        return options.torch_index_url
    if options.index_url or options.find_links:
        return ""
    if not platform.startswith(("linux", "win")):
        return ""
    nvidia = has_nvidia_gpu() if gpu is None else gpu
    if not nvidia:
        return TORCH_CPU_INDEX
    return TORCH_CUDA_INDEX if platform.startswith("win") else ""


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    size_bytes: int | None  # the wheel's download size, None where the index does not say
    requested: bool  # named in the requirements (not only a dependency of one)


@dataclass(frozen=True)
class InstallPlan:
    """What pip resolved: `install` goes into the plugin's folder; `kept` are QGIS's own (name, version)."""

    target: str
    specs: tuple[str, ...]
    install: tuple[Package, ...]
    kept: tuple[tuple[str, str], ...] = ()
    source_args: tuple[str, ...] = field(default=(), compare=False)

    @property
    def size_bytes(self) -> int | None:
        sizes = [p.size_bytes for p in self.install]
        return None if None in sizes else sum(sizes)

    def to_json(self) -> dict:
        return {
            "target": self.target,
            "specs": list(self.specs),
            "install": [vars(p) for p in self.install],
            "kept": [list(k) for k in self.kept],
            "size_bytes": self.size_bytes,
        }

    def lines(self) -> list[str]:
        """The plan for a person: one line a package, then the total."""
        rows = [f"  {p.name} {p.version}  {format_size(p.size_bytes)}" for p in self.install]
        kept = ", ".join(f"{n} {v}" for n, v in self.kept)
        return (
            [f"Install into {self.target}:"] + (rows or ["  nothing"])
            + [f"Total download: {format_size(self.size_bytes)}"]
            + ([f"Already in QGIS's Python (kept as they are): {kept}"] if kept else [])
        )


def format_size(size_bytes: int | None) -> str:
    if size_bytes is None:
        return "size unknown"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size_bytes >= scale:
            return f"{size_bytes / scale:.1f} {unit}"
    return f"{size_bytes} B"


def download_size(url: str) -> int | None:
    """The size of a wheel: a local file's, else the index's Content-Length (a HEAD request)."""
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        path = urllib.request.url2pathname(parsed.path)
        return os.path.getsize(path) if os.path.isfile(path) else None
    if parsed.scheme not in ("http", "https"):
        return None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"),
                                    timeout=SIZE_PROBE_TIMEOUT_S) as response:
            length = response.headers.get("Content-Length")
            return int(length) if length else None
    except (OSError, ValueError):
        return None


def run_pip(python: str, args: list[str], log: Log, cwd: str | None = None) -> int:
    """`python -m pip ARGS`, every output line to `log`; stopped (and waited for) on any exception,
    KeyboardInterrupt included. pip's temporary files (gigabytes for torch) go under `cwd`, a folder
    of the installer's own, where no cleaner of the system's temporary folder removes them mid-run."""
    command = [python, "-m", "pip", *args]
    log("$ " + subprocess.list2cmdline(command))
    flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_INPUT": "1", "PYTHONUNBUFFERED": "1"}
    if cwd:
        env.update(TMPDIR=cwd, TEMP=cwd, TMP=cwd)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                               text=True, encoding="utf-8", errors="replace", creationflags=flags)
    try:
        for line in process.stdout:
            log(line.rstrip())
        return process.wait()
    except BaseException:
        process.kill()
        process.wait()
        raise


class Installer:
    """Plans and installs `specs` for the Python `python` (default: this one) into `target`."""

    def __init__(self, target: str | os.PathLike, options: PipOptions = PipOptions(),
                 python: str = sys.executable, installed: dict[str, str] | None = None,
                 log: Log = print, gpu: bool | None = None):
        """`installed`: QGIS's distributions {canonical name: version} (default: those this Python sees,
        the target folder left out)."""
        self.target = Path(target).absolute()
        self.options = options
        self.python = python
        self.installed = installed_distributions(exclude=[self.target]) if installed is None else installed
        self.log = log
        self.torch_index = torch_index(options, gpu=gpu)

    def plan(self, specs: Iterable[str], work_dir: str | os.PathLike) -> InstallPlan:
        """Resolve `specs` with pip (nothing installed), QGIS's versions as constraints."""
        specs = tuple(specs)
        source_args = self.options.source_args(self.torch_index)
        if not specs:
            return InstallPlan(str(self.target), specs, (), (), tuple(source_args))
        self.check_pip()
        work_dir = Path(work_dir)
        constraints, report = work_dir / "constraints.txt", work_dir / "report.json"
        write_constraints(self.installed, constraints)
        # Not --ignore-installed: what QGIS's Python has satisfies a requirement as it is, so pip needs no
        # wheel of it (Debian's MarkupSafe 2.1.5 has none for Python 3.13 on PyPI: with
        # --ignore-installed and --only-binary the whole plan failed); pip names those "already
        # satisfied" and leaves them out of the report.
        args = ["install", "--dry-run", "--only-binary", ":all:",
                "--report", str(report), "--constraint", str(constraints), *source_args, *specs]
        satisfied: list[str] = []

        def log(line: str) -> None:
            found = _SATISFIED.match(line)
            if found:
                satisfied.append(found.group(1))
            self.log(line)

        if run_pip(self.python, args, log, cwd=str(work_dir)) != 0:
            raise InstallError(f"pip could not resolve {' '.join(specs)} (see its output above)")
        resolved = json.loads(report.read_text(encoding="utf-8")).get("install", [])
        install, kept = [], []
        for name in dict.fromkeys(satisfied):
            if canonical_name(name) not in self.installed:  # the target folder on pip's path (PYTHONPATH)
                raise InstallError(f"pip sees {name} installed outside QGIS's Python (is {self.target} on "
                                   "PYTHONPATH?); nothing was changed")
            kept.append((name, self.installed[canonical_name(name)]))
        for item in resolved:
            name, version = item["metadata"]["name"], item["metadata"]["version"]
            if canonical_name(name) in self.installed:
                kept.append((name, self.installed[canonical_name(name)]))
                continue
            url = item.get("download_info", {}).get("url", "")
            install.append(Package(name, version, download_size(url), bool(item.get("requested"))))
        return InstallPlan(str(self.target), specs, tuple(install), tuple(kept), tuple(source_args))

    def check_pip(self) -> None:
        """QGIS's pip must plan without installing (22.2 or newer; QGIS 3.22's Windows Python 3.9 may
        have an older one: upgrading pip for the user changes nothing QGIS imports)."""
        flags = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            done = subprocess.run([self.python, "-m", "pip", "--version"], capture_output=True, text=True,
                                  timeout=60, creationflags=flags)
        except (OSError, subprocess.SubprocessError) as error:
            raise InstallError(f"cannot run pip with {self.python}: {error}") from error
        words = done.stdout.split()
        version = tuple(int(p) for p in words[1].split(".")[:2] if p.isdigit()) if len(words) > 1 else ()
        if done.returncode != 0 or not version:
            raise InstallError(f"{self.python} has no pip: install it (Debian/Ubuntu: apt install "
                               f"python3-pip; elsewhere: {self.python} -m ensurepip --user)")
        if version < PIP_MIN_VERSION:
            found = f"pip {words[1]}"
            raise InstallError(
                f"{self.python} has {found}; the installer needs pip {'.'.join(map(str, PIP_MIN_VERSION))} "
                f"or newer: {self.python} -m pip install --user --upgrade pip"
            )

    def install(self, plan: InstallPlan) -> Path:
        """Install the plan's packages (`--no-deps`: exactly those) into a new folder that replaces the
        target once pip succeeded; returns the folder now holding them (the target, or a staged folder
        the next start puts in place when the old one is in use)."""
        if not plan.install:
            self.log("Nothing to install.")
            return self.target
        self.target.parent.mkdir(parents=True, exist_ok=True)
        remove_leftovers(self.target)
        work = Path(tempfile.mkdtemp(prefix=self.target.name + TEMPORARY_MARK, dir=self.target.parent))
        try:
            specs = [f"{p.name}=={p.version}" for p in plan.install]
            args = ["install", "--no-deps", "--ignore-installed", "--only-binary", ":all:", "--no-compile",
                    "--no-warn-script-location", "--target", str(work / "site"), *plan.source_args, *specs]
            if run_pip(self.python, args, self.log, cwd=str(work)) != 0:
                raise InstallError("pip failed (see its output above); nothing was changed")
            landed = installed_distributions([str(work / "site")])
            missing = [p.name for p in plan.install if canonical_name(p.name) not in landed]
            if missing:
                raise InstallError(f"pip did not install {', '.join(missing)}; nothing was changed")
            os.replace(work / "site", work / "ready")
            try:
                _replace_folder(work / "ready", self.target)
                return self.target
            except OSError:  # Windows: a module of the old folder is loaded; swap at the next start
                staged = self.target.with_name(self.target.name + STAGED_SUFFIX)
                shutil.rmtree(staged, ignore_errors=True)
                os.replace(work / "ready", staged)
                return staged
        finally:
            shutil.rmtree(work, ignore_errors=True)


def remove_leftovers(target: Path) -> None:
    """Temporary folders of installs that were killed (a cancelled pip on Windows cannot clean up)."""
    for leftover in target.parent.glob(target.name + TEMPORARY_MARK + "*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _replace_folder(new: Path, target: Path) -> None:
    """Put `new` where `target` is: the old one is renamed aside first and removed after."""
    old = None
    if target.exists():
        old = target.with_name(f"{target.name}{TEMPORARY_MARK}old-{os.getpid()}")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(target, old)
    try:
        os.replace(new, target)
    except OSError:
        if old is not None:
            os.replace(old, target)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
