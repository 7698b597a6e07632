"""Shared pytest fixtures. Qt must be headless before anything imports it."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("SIAMMASK_SHARED", REPO_ROOT.parent / "shared"))
QT6_SITE = Path(os.environ.get("SIAMMASK_QT6_SITE", REPO_ROOT / ".venv" / "qt6"))  # requirements-qt6.txt


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The read-only ../shared data folder; tests using it skip (with the reason) when it is absent."""
    if not SHARED_DIR.is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"{SHARED_DIR} is missing: CI must have ../shared beside the checkout")
        pytest.skip(f"shared data folder {SHARED_DIR} is absent")
    return SHARED_DIR


@pytest.fixture(scope="session")
def qt6_env() -> dict:
    """The environment of a child process that imports PyQt6 (from QT6_SITE, which `make setup` fills);
    the test process itself never imports PyQt6."""
    if not (QT6_SITE / "PyQt6").is_dir():
        if os.environ.get("CI"):
            pytest.fail(f"PyQt6 is missing from {QT6_SITE}: run make setup")
        pytest.skip(f"PyQt6 is not installed in {QT6_SITE} (make setup, requirements-qt6.txt)")
    return {**os.environ, "PYTHONPATH": str(QT6_SITE), "QT_QPA_PLATFORM": "offscreen"}


@pytest.fixture(scope="session")
def qgis_app():
    """A real headless QgsApplication, started once for the whole session."""
    qgis_testing = pytest.importorskip("qgis.testing", reason="QGIS Python bindings are not installed")
    return qgis_testing.start_app()


@pytest.fixture(scope="session")
def qapp(qgis_app):
    """pytest-qt uses QGIS's own application instead of creating a second QApplication."""
    return qgis_app


@pytest.fixture(scope="session")
def seeded_model_path(shared_dir, tmp_path_factory) -> Path:
    """The parity checkpoint (../shared/fixtures/parity/siammask_seeded.pth) exported to TorchScript once."""
    from qgis_siammask.core.tracking.network.export import export_torchscript

    checkpoint = shared_dir / "fixtures" / "parity" / "siammask_seeded.pth"
    if not checkpoint.is_file():
        pytest.skip(f"parity checkpoint {checkpoint} is absent")
    return export_torchscript(checkpoint, tmp_path_factory.mktemp("model") / "siammask_seeded.pt")


@pytest.fixture(scope="session")
def seeded_export_path(shared_dir, tmp_path_factory) -> Path:
    """The parity checkpoint converted to a torch.export archive once, as `models convert CKPT --out X.pt2`."""
    pytest.importorskip("torch.export.pt2_archive", reason="torch.export archives need torch >= 2.8")
    from qgis_siammask.core.models.install import convert_model_file

    checkpoint = shared_dir / "fixtures" / "parity" / "siammask_seeded.pth"
    if not checkpoint.is_file():
        pytest.skip(f"parity checkpoint {checkpoint} is absent")
    return convert_model_file(checkpoint, tmp_path_factory.mktemp("model") / "siammask_seeded.pt2")


@pytest.fixture(scope="session")
def default_model_path() -> Path:
    """The committed default model (light, trained on simulated vehicles: fast on CPU)."""
    from qgis_siammask.core.commands.demo import DEFAULT_MODEL_DIR

    committed = sorted(DEFAULT_MODEL_DIR.glob("*.pt"))
    if not committed:
        pytest.skip(f"no default model under {DEFAULT_MODEL_DIR}")
    return committed[0]


@pytest.fixture()
def dock(qgis_app, qtbot, tmp_path, request):
    """The video dock in its own window, in an empty project, tracking on the CPU into tmp_path/out."""
    from qgis.core import QgsProject
    from test_plugin_support import StubInterface, tracking_model

    from qgis_siammask.gui.video_dock import VideoDock
    from qgis_siammask.settings import PluginSettings, save_settings

    QgsProject.instance().clear()  # each test starts in an empty project, whatever ran before it
    save_settings(
        PluginSettings(model_path=tracking_model(request), device="cpu", output_folder=str(tmp_path / "out"))
    )
    iface = StubInterface()
    widget = VideoDock(iface)
    widget.setFloating(True)  # its own window: the stub main window is never shown
    widget.resize(640, 900)
    widget.show()
    qtbot.waitExposed(widget)
    yield widget
    widget.shutdown()
    widget.deleteLater()
    iface.main_window.deleteLater()
    QgsProject.instance().clear()


@pytest.fixture()
def clip(tmp_path_factory):
    """The simulated clip of the dock tests (GUI_CLIP_FRAMES frames, rendered once per session)."""
    from test_plugin_support import GUI_CLIP_FRAMES, simulated_clip

    return simulated_clip(tmp_path_factory.getbasetemp(), GUI_CLIP_FRAMES)
