"""`make package`'s zip is what the QGIS plugin manager installs: one plugin folder at the root, with
metadata (every field the plugin repository expects), licence and icon inside, and no tests or
training code."""

from __future__ import annotations

import configparser
import subprocess
import sys
import zipfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
REQUIRED_METADATA = (
    "name",
    "qgisMinimumVersion",
    "description",
    "about",
    "version",
    "author",
    "email",
    "repository",
    "tracker",
    "homepage",
    "tags",
    "category",
    "icon",
    "experimental",
    "hasProcessingProvider",
    "license",
)


def build_zip(out_dir: Path, base_url: str | None = None) -> Path:
    """`scripts/package.py` run as `make package` runs it; the zip (plugins.xml lies beside it)."""
    extra = ["--base-url", base_url] if base_url else []
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "package.py"), "--out", str(out_dir), *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    zips = list(out_dir.glob("qgis_siammask-*.zip"))
    assert len(zips) == 1, zips
    return zips[0]


def test_zip_layout_and_metadata(tmp_path):
    zip_path = build_zip(tmp_path)
    import qgis_siammask

    assert zip_path.name == f"qgis_siammask-{qgis_siammask.__version__}.zip"
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        assert {n.split("/")[0] for n in names} == {"qgis_siammask"}
        for required in ("metadata.txt", "LICENSE", "__init__.py", "plugin.py", "resources/icon.png"):
            assert f"qgis_siammask/{required}" in names, required
        assert not [n for n in names if "/tests/" in n or "__pycache__" in n or n.endswith(".pyc")]
        assert not [n for n in names if n.startswith("qgis_siammask/model/") or "train" in Path(n).name]
        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read_string(archive.read("qgis_siammask/metadata.txt").decode("utf-8"))
        general = metadata["general"]
        missing = [key for key in REQUIRED_METADATA if not general.get(key, "").strip()]
        assert not missing, missing
        assert general["qgisMinimumVersion"] == "3.22"
        assert general["version"] == qgis_siammask.__version__
        assert general["hasProcessingProvider"] == "yes"
        assert general["license"] == "GPL-2.0-or-later"
        assert f"qgis_siammask/{general['icon']}" in names
        for name in names:
            if name.endswith(".py"):
                compile(archive.read(name), name, "exec")
        bundled = [n for n in names if n.startswith("qgis_siammask/models/")]
        for name in bundled:
            assert archive.getinfo(name).file_size <= 20 * 1024 * 1024


def test_plugins_xml_indexes_the_zip(tmp_path):
    import xml.etree.ElementTree as ElementTree

    import qgis_siammask

    zip_path = build_zip(tmp_path, base_url="http://127.0.0.1:8765/plugins/")
    assert "qgis_siammask/i18n/qgis_siammask_de.qm" in zipfile.ZipFile(zip_path).namelist()
    root = ElementTree.parse(zip_path.parent / "plugins.xml").getroot()
    (plugin,) = root.findall("pyqgis_plugin")
    assert plugin.get("plugin_id") == "qgis_siammask" and plugin.get("version") == qgis_siammask.__version__
    assert plugin.findtext("download_url") == f"http://127.0.0.1:8765/plugins/{zip_path.name}"
    assert plugin.findtext("file_name").partition(".")[0] == "qgis_siammask"  # QGIS's plugin id
    assert plugin.findtext("qgis_minimum_version") == "3.22" and plugin.findtext("experimental") == "True"
    assert "@" in plugin.findtext("author_email") and "example" not in plugin.findtext("author_email")


def test_version_mismatch_is_refused(tmp_path):
    sys.path.insert(0, str(REPO_ROOT / "scripts"))
    try:
        import package
    finally:
        sys.path.remove(str(REPO_ROOT / "scripts"))
    fake_root = tmp_path / "repo"
    (fake_root / "qgis_siammask").mkdir(parents=True)
    (fake_root / "qgis_siammask" / "__init__.py").write_text('__version__ = "9.9.9"\n')
    (fake_root / "metadata.txt").write_text("[general]\nversion=0.1.0\n")
    try:
        package.build(tmp_path / "out", repo_root=fake_root)
    except SystemExit as error:
        assert "9.9.9" in str(error)
    else:
        raise AssertionError("a version mismatch must stop the build")
