"""Models from the catalogue: fetched and converted by the unzipped plugin alone (no source checkout on the
path) from a server on 127.0.0.1, in parity with the authors' code; every failing download is a clear
error and never leaves a file that is listed as a model."""
from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from model_server import Route, serve
from test_package import build_zip
from test_tracker_parity import check_teacher_forced

from qgis_siammask.core.errors import DownloadCancelled, DownloadError, ModelError
from qgis_siammask.core.models.catalogue import catalogue_entry
from qgis_siammask.core.models.download import download
from qgis_siammask.core.models.install import fetch_model, list_models
from qgis_siammask.core.tracking.network.config import ModelMetadata
from qgis_siammask.core.tracking.tracker import SiamMaskTracker

CHECKPOINT_URL_PATH = "/SiamMask_DAVIS.pth"


@pytest.fixture(scope="module")
def seeded_checkpoint(shared_dir) -> Path:
    path = shared_dir / "fixtures" / "parity" / "siammask_seeded.pth"
    if not path.is_file():
        pytest.skip(f"parity checkpoint {path} is absent")
    return path


@pytest.fixture(scope="module")
def unzipped_plugin(tmp_path_factory) -> Path:
    """The plugin zip built by scripts/package.py, unpacked: a folder holding only qgis_siammask/."""
    root = tmp_path_factory.mktemp("plugin")
    with zipfile.ZipFile(build_zip(root / "dist")) as archive:
        archive.extractall(root / "unzipped")
    return root / "unzipped"


def run_plugin_cli(plugin_root: Path, *args: str) -> subprocess.CompletedProcess:
    """`python -m qgis_siammask ...` with only the unzipped plugin importable (cwd and PYTHONPATH)."""
    env = {**os.environ, "PYTHONPATH": str(plugin_root)}
    return subprocess.run([sys.executable, "-m", "qgis_siammask", *args], cwd=plugin_root, env=env,
                          capture_output=True, text=True, timeout=300)


def test_unzipped_plugin_fetches_and_converts_a_model_that_tracks_in_parity(
        unzipped_plugin, seeded_checkpoint, shared_dir, tmp_path):
    models = tmp_path / "models"
    routes = {CHECKPOINT_URL_PATH: Route(seeded_checkpoint.read_bytes())}
    with serve(routes) as base:
        fetched = run_plugin_cli(unzipped_plugin, "models", "fetch", "siammask-davis",
                                 "--url", base + CHECKPOINT_URL_PATH, "--dir", str(models))
    assert fetched.returncode == 0, fetched.stderr
    model = models / "siammask-davis.pt"
    assert model.is_file() and (models / "SiamMask_DAVIS.pth").is_file()
    assert not list(models.glob("*.part")) and not list(models.glob("*.partial.*"))
    listed = run_plugin_cli(unzipped_plugin, "models", "list", "--dir", str(models))
    assert listed.returncode == 0, listed.stderr
    assert str(unzipped_plugin / "qgis_siammask" / "models") in listed.stdout  # the zip's code ran
    assert "siammask-davis" in listed.stdout and "resnet50" in listed.stdout and base in listed.stdout

    converted = run_plugin_cli(unzipped_plugin, "models", "convert", str(seeded_checkpoint),
                               "--out", str(tmp_path / "converted.pt"))
    assert converted.returncode == 0, converted.stderr
    metadata = ModelMetadata.read(model)
    assert metadata.source_url == base + CHECKPOINT_URL_PATH and len(metadata.source_sha256) == 64
    assert ModelMetadata.read(tmp_path / "converted.pt").source_sha256 == metadata.source_sha256
    fetched_state = torch.jit.load(str(model)).state_dict()
    converted_state = torch.jit.load(str(tmp_path / "converted.pt")).state_dict()
    assert all(torch.equal(fetched_state[k], converted_state[k]) for k in fetched_state)

    check_teacher_forced(SiamMaskTracker(model, device="cpu", num_threads=2), shared_dir, "tennis", 4)


def test_dropped_connection_resumes_with_a_range_request(tmp_path):
    payload = os.urandom(3 << 20)
    routes = {"/f.bin": Route(payload, "drop"), "/g.bin": Route(payload, "norange")}
    seen = []
    with serve(routes) as base:
        part = download(base + "/f.bin", tmp_path / "f.bin.part", progress=lambda done, total: seen.append(total))
        assert part.read_bytes() == payload
        assert routes["/f.bin"].ranges == ["", f"bytes={(3 << 20) // 2}-"]
        assert set(seen) == {len(payload)}
        # a server that ignores Range: a clean restart, never a file with a repeated piece
        (tmp_path / "g.bin.part").write_bytes(payload[:1000])
        assert download(base + "/g.bin", tmp_path / "g.bin.part").read_bytes() == payload


def test_cancelled_download_keeps_its_part_file_unlisted_and_resumes(tmp_path):
    payload = os.urandom(3 << 20)
    routes = {"/f.bin": Route(payload)}
    part = tmp_path / "f.bin.part"
    with serve(routes) as base:
        with pytest.raises(DownloadCancelled, match="cancelled"):
            download(base + "/f.bin", part, is_cancelled=lambda: True)
        assert 0 < part.stat().st_size < len(payload)
        demo = list_models(None)[0].path
        (tmp_path / "demo.partial.pt").write_bytes(demo.read_bytes())  # a conversion still writing
        assert list_models(tmp_path, include_bundled=False) == []
        assert download(base + "/f.bin", part).read_bytes() == payload
    assert routes["/f.bin"].ranges[1].startswith("bytes=")


def test_failed_downloads_are_clear_errors_and_never_listed(seeded_checkpoint, tmp_path):
    entry = catalogue_entry("siammask-davis")
    good = seeded_checkpoint.read_bytes()
    state = torch.load(seeded_checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    renamed = {k.replace("refine_model.", "refine_head."): v for k, v in state.items()}
    torch.save({"state_dict": renamed}, tmp_path / "other.pth")
    routes = {"/html.pth": Route(good, "html"), "/short.pth": Route(good, "truncated"),
              "/other.pth": Route((tmp_path / "other.pth").read_bytes())}
    models = tmp_path / "models"
    with serve(routes) as base:
        with pytest.raises(DownloadError, match="HTTP 404"):
            fetch_model(entry, models, base + "/missing.pth")
        with pytest.raises(DownloadError, match="web page"):
            fetch_model(entry, models, base + "/html.pth")
        with pytest.raises(ModelError, match="truncated"):
            fetch_model(entry, models, base + "/short.pth")
        with pytest.raises(ModelError, match="does not match the SiamMask architecture") as info:
            fetch_model(entry, models, base + "/other.pth")
    assert "refine_head" in str(info.value)
    assert list_models(models, include_bundled=False) == []
    assert sorted(p.name for p in models.iterdir()) == []  # bad files are removed, a retry starts afresh
