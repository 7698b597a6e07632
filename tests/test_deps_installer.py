"""The plugin's package installer, headless (`python -m qgis_siammask deps`), from tiny local wheels: a
package QGIS's Python already has is never installed again, a failed install changes nothing, the
folder goes on sys.path after QGIS's own site-packages, and paths with spaces and non-ASCII work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from wheel_factory import install_fake_distribution, write_wheel

from qgis_siammask.core.packages.deps import REQUIREMENTS
from qgis_siammask.core.packages.installer import (
    STAGED_SUFFIX,
    PipOptions,
    activate_package_folder,
    installed_distributions,
    package_folder,
    torch_index,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


def offline_env(**extra: str) -> dict:
    """This machine's pip configuration left out (its wheel folder and indexes): only the test's wheels."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1", **extra}


@pytest.fixture
def wheels(tmp_path) -> Path:
    """probe 1.0 needs qgisown>=1.0; the folder offers qgisown 1.0 and 2.0."""
    folder = tmp_path / "wheels"
    folder.mkdir()
    write_wheel(folder, "sm_probe", "1.0", ("sm_qgisown>=1.0",))
    write_wheel(folder, "sm_qgisown", "1.0")
    write_wheel(folder, "sm_qgisown", "2.0")
    return folder


@pytest.fixture
def qgis_site(tmp_path) -> Path:
    """QGIS's Python already has sm_qgisown 1.0 (on its path, as QGIS's site-packages would be)."""
    site = tmp_path / "qgis site-packages"
    install_fake_distribution(site, "sm_qgisown", "1.0")
    return site


@pytest.fixture
def target(tmp_path) -> Path:
    return package_folder(tmp_path / "Jürgen Müller" / "QGIS3 profiles" / "default")


def deps_cli(*args: str, site: Path | None = None) -> subprocess.CompletedProcess:
    env = offline_env(**({"PYTHONPATH": str(site)} if site else {}))
    return subprocess.run([sys.executable, "-m", "qgis_siammask", "deps", *args], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_install_puts_only_what_qgis_lacks_into_the_folder(wheels, qgis_site, target, tmp_path):
    plan_file = tmp_path / "plan.json"
    planned = deps_cli("plan", "--target", str(target), "--find-links", str(wheels), "--package", "sm_probe",
                       "--json", str(plan_file), site=qgis_site)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    plan = json.loads(plan_file.read_text(encoding="utf-8"))
    assert [(p["name"], p["version"]) for p in plan["install"]] == [("sm_probe", "1.0")]
    assert plan["install"][0]["size_bytes"] == (wheels / "sm_probe-1.0-py3-none-any.whl").stat().st_size
    assert plan["kept"] == [["sm_qgisown", "1.0"]]  # the constraint: 1.0 as installed, not the newer 2.0
    assert not target.exists()  # a plan installs nothing

    done = deps_cli("install", "--target", str(target), "--find-links", str(wheels), "--package", "sm_probe",
                    site=qgis_site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Restart QGIS" in done.stdout
    assert (target / "sm_probe.py").is_file()
    assert not list(target.glob("sm_qgisown*"))  # never installed again, never shadowed
    assert installed_distributions([str(target)]) == {"sm-probe": "1.0"}
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]  # no temporary folder left


def test_without_the_installed_package_its_newest_version_would_be_installed(wheels, target):
    """The control of the test above: the same install on a Python without sm_qgisown takes 2.0."""
    done = deps_cli("install", "--target", str(target), "--find-links", str(wheels), "--package", "sm_probe")
    assert done.returncode == 0, done.stdout + done.stderr
    assert installed_distributions([str(target)]) == {"sm-probe": "1.0", "sm-qgisown": "2.0"}


def test_a_failed_install_leaves_the_old_folder_as_it_was(wheels, qgis_site, target):
    first = deps_cli("install", "--target", str(target), "--find-links", str(wheels), "--package", "sm_probe",
                     site=qgis_site)
    assert first.returncode == 0, first.stdout + first.stderr
    before = tree(target)
    failed = deps_cli("install", "--target", str(target), "--find-links", str(wheels),
                      "--package", "sm_probe", "--package", "sm_missing", site=qgis_site)
    assert failed.returncode == 2 and "error: pip could not resolve" in failed.stderr
    assert tree(target) == before
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


def test_the_folder_goes_after_site_packages_and_a_staged_install_is_put_in_place(wheels, target):
    done = deps_cli("install", "--target", str(target), "--find-links", str(wheels), "--package", "sm_probe")
    assert done.returncode == 0, done.stdout + done.stderr
    staged = target.with_name(target.name + STAGED_SUFFIX)
    staged.mkdir()
    (staged / "sm_staged.py").write_text("")
    script = f"""
import json, sys, sysconfig
from qgis_siammask.core.packages.installer import activate_package_folder
before = list(sys.path)
print(json.dumps([activate_package_folder({str(target)!r}), before, sys.path,
                  sysconfig.get_paths()["purelib"], __import__("sm_staged").__file__]))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=offline_env(),
                         capture_output=True, text=True, encoding="utf-8", timeout=60)
    assert run.returncode == 0, run.stderr
    active, before, after, site_packages, staged_module = json.loads(run.stdout)
    assert active and after == before + [str(target)]  # appended: after site-packages
    assert before.index(site_packages) < after.index(str(target))
    assert staged_module == str(target / "sm_staged.py") and not staged.exists()
    assert not (target / "sm_probe.py").exists()  # the staged install replaced the whole folder


def test_activate_without_a_folder_changes_nothing(tmp_path):
    before = list(sys.path)
    assert activate_package_folder(tmp_path / "none") is False
    assert sys.path == before


def test_package_folder_per_python_version(tmp_path):
    assert package_folder(tmp_path, (3, 9, 18)) == tmp_path / "siammask" / "python" / "py39"
    assert package_folder(tmp_path, (3, 13, 5)).name == "py313"


def test_torch_index_by_platform_gpu_and_settings():
    from qgis_siammask.core.packages.deps import TORCH_CPU_INDEX, TORCH_CUDA_INDEX

    default = PipOptions()
    assert torch_index(default, "linux", gpu=False) == TORCH_CPU_INDEX
    assert torch_index(default, "linux", gpu=True) == ""  # PyPI's Linux wheels are the CUDA ones
    assert torch_index(default, "win32", gpu=True) == TORCH_CUDA_INDEX
    assert torch_index(default, "win32", gpu=False) == TORCH_CPU_INDEX
    assert torch_index(default, "darwin", gpu=False) == ""
    assert torch_index(PipOptions(index_url="https://mirror.example/simple"), "linux", gpu=False) == ""
    assert torch_index(PipOptions(find_links=("/wheels",)), "linux", gpu=False) == ""
    chosen = PipOptions(torch_index_url="https://t.example")
    assert torch_index(chosen, "linux", gpu=True) == "https://t.example"
    options = PipOptions("https://m/simple", ("https://x/simple",), ("/w h",), ("--no-cache-dir",))
    assert options.source_args("https://t") == [
        "--index-url", "https://m/simple", "--extra-index-url", "https://x/simple",
        "--extra-index-url", "https://t", "--find-links", "/w h", "--no-cache-dir"]


def test_requirements_are_ranges_and_the_dev_pins_satisfy_them():
    specs = {r.distribution: r for r in REQUIREMENTS}
    assert specs["numpy"].pip_spec == "numpy>=1.22"  # numpy 1.x or 2.x: QGIS's own
    assert specs["numpy"].accepts("2.2.4") and specs["numpy"].accepts("1.24.2")
    assert not specs["numpy"].accepts("1.21.6")
    assert all("==" not in r.pip_spec for r in REQUIREMENTS)
    pins = {}
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        spec = line.split("#")[0].strip()
        if "==" in spec:
            name, version = spec.split("==")
            pins[name.split("[")[0]] = version
    makefile = (REPO_ROOT / "Makefile").read_text()
    pins["torch"] = makefile.split("pip install -q torch==")[1].split()[0]
    checked = [name for name in pins if name in specs]
    assert {"torch", "av", "opencv-python-headless"} <= set(checked)
    for name in checked:
        assert specs[name].accepts(pins[name]), (name, pins[name], specs[name].pip_spec)
    import numpy

    assert specs["numpy"].accepts(numpy.__version__)  # requirements.txt's numpy range, as installed


def test_a_pip_too_old_to_plan_is_named_with_the_fix(tmp_path):
    from qgis_siammask.core.packages.installer import InstallError, Installer

    old_python = tmp_path / "python"
    old_python.write_text("#!/bin/sh\necho 'pip 21.3.1 from /old/site-packages/pip (python 3.9)'\n")
    old_python.chmod(0o755)
    installer = Installer(tmp_path / "target", python=str(old_python), installed={}, log=lambda line: None)
    with pytest.raises(InstallError, match=r"pip 21.3.1; the installer needs pip 22.2 or newer: .* --upgrade"):
        installer.plan(["sm_probe"], tmp_path)
    assert not (tmp_path / "target").exists()


def test_a_python_without_pip_is_named_with_the_fix(tmp_path):
    from qgis_siammask.core.packages.installer import InstallError, Installer

    no_pip = tmp_path / "python"
    no_pip.write_text("#!/bin/sh\necho 'No module named pip' >&2\nexit 1\n")
    no_pip.chmod(0o755)
    installer = Installer(tmp_path / "target", python=str(no_pip), installed={}, log=lambda line: None)
    with pytest.raises(InstallError, match="has no pip: install it"):
        installer.plan(["sm_probe"], tmp_path)


def test_a_package_qgis_has_needs_no_wheel_of_its_version(tmp_path, qgis_site, target):
    """QGIS's sm_qgisown 1.0 has no wheel on the index (as Debian trixie's MarkupSafe 2.1.5 has none for
    Python 3.13 on PyPI): it satisfies probe's requirement as installed, and the plan still resolves."""
    folder = tmp_path / "only newer wheels"
    folder.mkdir()
    write_wheel(folder, "sm_probe", "1.0", ("sm_qgisown>=1.0",))
    write_wheel(folder, "sm_qgisown", "2.0")
    done = deps_cli("install", "--target", str(target), "--find-links", str(folder), "--package", "sm_probe",
                    site=qgis_site)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Already in QGIS's Python (kept as they are): sm_qgisown 1.0" in done.stdout
    assert installed_distributions([str(target)]) == {"sm-probe": "1.0"}
