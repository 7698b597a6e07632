"""Build the zip the QGIS plugin manager installs: `python scripts/package.py --out dist`.

QGIS expects the zip root to be the plugin folder, with metadata.txt, the icon and the licence inside
it. The repository keeps those at its root (shared with the docs and CI), so they are copied into the
folder here. Tests, benchmarks, model training code and caches never ship. The default model
(model/default/*.pt) ships inside the plugin (qgis_siammask/models/) when it is at most 20 MB, so a
fresh install can track without downloading anything.

Beside the zip it writes `plugins.xml`, the index of a custom plugin repository (the format of
plugins.qgis.org, as qgis-plugin-ci writes it): serve both from one folder (`--base-url` is that
folder's URL), add the XML's URL in *Plugins ▸ Manage and Install Plugins ▸ Settings*, and QGIS
installs and updates the plugin from there.
"""

from __future__ import annotations

import argparse
import configparser
import re
import sys
import xml.etree.ElementTree as ElementTree
import zipfile
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR_NAME = "qgis_siammask"
MAX_BUNDLED_MODEL_BYTES = 20 * 1024 * 1024
EXCLUDED_PARTS = {"__pycache__", "tests", ".pytest_cache"}
EXCLUDED_SUFFIXES = {".pyc", ".pyo"}
BUNDLED_MODELS_DIR = "models"


def read_metadata_version(metadata_path: Path) -> str:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(metadata_path, encoding="utf-8")
    return parser["general"]["version"]


def read_package_version(package_init: Path) -> str:
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', package_init.read_text(encoding="utf-8"), re.M)
    if not match:
        raise SystemExit(f"{package_init}: no __version__ line")
    return match.group(1)


def default_models(repo_root: Path) -> list[Path]:
    """The committed default model files small enough to ship (the plugin finds them under models/)."""
    return [
        p
        for p in sorted((repo_root / "model" / "default").glob("*.pt"))
        if p.stat().st_size <= MAX_BUNDLED_MODEL_BYTES
    ]


def plugin_files(repo_root: Path) -> list[tuple[Path, str]]:
    """(source file, path inside the zip) pairs, sorted so the zip is reproducible."""
    package = repo_root / PLUGIN_DIR_NAME
    pairs = [
        (path, f"{PLUGIN_DIR_NAME}/{path.relative_to(package).as_posix()}")
        for path in sorted(package.rglob("*"))
        if path.is_file()
        and not EXCLUDED_PARTS.intersection(path.relative_to(package).parts)
        and path.suffix not in EXCLUDED_SUFFIXES
    ]
    pairs += [
        (repo_root / name, f"{PLUGIN_DIR_NAME}/{name}") for name in ("metadata.txt", "LICENSE", "README.md")
    ]
    pairs += [
        (path, f"{PLUGIN_DIR_NAME}/resources/{path.name}")
        for path in sorted((repo_root / "resources").iterdir())
        if path.is_file()
    ]
    pairs += [
        (path, f"{PLUGIN_DIR_NAME}/{BUNDLED_MODELS_DIR}/{path.name}") for path in default_models(repo_root)
    ]
    return pairs


# plugins.xml element -> metadata.txt key (the fields QGIS's installer reads)
_XML_FIELDS = {
    "description": "description",
    "about": "about",
    "version": "version",
    "qgis_minimum_version": "qgisMinimumVersion",
    "qgis_maximum_version": "qgisMaximumVersion",
    "homepage": "homepage",
    "author_name": "author",
    "author_email": "email",
    "tracker": "tracker",
    "repository": "repository",
    "tags": "tags",
    "category": "category",
    "changelog": "changelog",
    "experimental": "experimental",
    "deprecated": "deprecated",
    "server": "server",
}


def write_plugins_xml(zip_path: Path, metadata_path: Path, base_url: str) -> Path:
    """The repository index beside the zip: one `pyqgis_plugin` entry whose download_url is
    `base_url` + the zip's name."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(metadata_path, encoding="utf-8")
    general = parser["general"]
    root = ElementTree.Element("plugins")
    plugin = ElementTree.SubElement(
        root, "pyqgis_plugin", name=general["name"], version=general["version"], plugin_id=PLUGIN_DIR_NAME
    )
    for element, key in _XML_FIELDS.items():
        ElementTree.SubElement(plugin, element).text = general.get(key, "").strip()
    stamp = datetime.fromtimestamp(zip_path.stat().st_mtime, timezone.utc).isoformat()
    for element, text in (
        # QGIS takes the plugin's id from file_name up to its first dot: "<id>.<version>.zip"
        ("file_name", f"{PLUGIN_DIR_NAME}.{general['version']}.zip"),
        ("download_url", base_url.rstrip("/") + "/" + zip_path.name),
        ("icon", general.get("icon", "")),
        ("create_date", stamp),
        ("update_date", stamp),
        ("trusted", "False"),
        ("downloads", "0"),
        ("average_vote", "0"),
        ("rating_votes", "0"),
    ):
        ElementTree.SubElement(plugin, element).text = text
    xml_path = zip_path.parent / "plugins.xml"
    ElementTree.ElementTree(root).write(xml_path, encoding="utf-8", xml_declaration=True)
    return xml_path


def build(out_dir: Path, repo_root: Path = REPO_ROOT) -> Path:
    metadata_version = read_metadata_version(repo_root / "metadata.txt")
    package_version = read_package_version(repo_root / PLUGIN_DIR_NAME / "__init__.py")
    if metadata_version != package_version:
        raise SystemExit(
            f"metadata.txt version {metadata_version} != qgis_siammask.__version__ {package_version}"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    zip_path = out_dir / f"{PLUGIN_DIR_NAME}-{metadata_version}.zip"
    with zipfile.ZipFile(zip_path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for source, name in plugin_files(repo_root):
            archive.write(source, name)
    return zip_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "dist", help="folder for the zip")
    parser.add_argument(
        "--base-url", help="URL the zip is served from, for plugins.xml (default: the --out folder)"
    )
    args = parser.parse_args(argv)
    zip_path = build(args.out)
    base_url = args.base_url or args.out.resolve().as_uri()
    xml_path = write_plugins_xml(zip_path, REPO_ROOT / "metadata.txt", base_url)
    with zipfile.ZipFile(zip_path) as archive:
        count = len(archive.namelist())
    print(f"{zip_path} ({zip_path.stat().st_size / 1e6:.2f} MB, {count} files)")
    print(f"{xml_path} (download_url {base_url.rstrip('/')}/{zip_path.name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
