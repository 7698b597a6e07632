"""Models inside headless QGIS: the models dialog downloads the authors' checkpoint through QGIS's network
stack from a server on 127.0.0.1 (progress shown), converts it and makes it the active model; Cancel
stops a download and keeps its partial file unlisted; the dock's demo-model banner offers the download."""

from __future__ import annotations

import dataclasses
import os

import pytest
from model_server import Route, serve
from qgis.PyQt.QtCore import Qt

from qgis_siammask.core.models.catalogue import catalogue_entry
from qgis_siammask.core.models.install import list_models

TASK_TIMEOUT_MS = 600_000  # conversion of the ResNet-50 checkpoint on a loaded 2-core machine


@pytest.fixture()
def fresh_settings(qgis_app):
    from qgis_siammask.settings import load_settings, save_settings

    before = load_settings()
    save_settings(dataclasses.replace(before, model_path=""))
    yield
    save_settings(before)


def test_models_dialog_downloads_converts_and_activates(qgis_app, qtbot, tmp_path, shared_dir, fresh_settings):
    from qgis_siammask.gui.models_dialog import ModelsDialog
    from qgis_siammask.settings import load_settings

    checkpoint = shared_dir / "fixtures" / "parity" / "siammask_seeded.pth"
    routes = {"/SiamMask_DAVIS.pth": Route(checkpoint.read_bytes(), "drop")}
    with serve(routes) as base:
        entry = dataclasses.replace(catalogue_entry("siammask-davis"), url=base + "/SiamMask_DAVIS.pth")
        dialog = ModelsDialog(model_dir=tmp_path / "models", catalogue=(entry,))
        qtbot.addWidget(dialog)
        assert [m.bundled for m in dialog.models] == [True]  # only the demo so far
        progress = []
        dialog.progress.valueChanged.connect(progress.append)
        with qtbot.waitSignal(dialog.modelChosen, timeout=TASK_TIMEOUT_MS) as chosen:
            qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    model = tmp_path / "models" / "siammask-davis.pt"
    assert chosen.args == [str(model)] and load_settings().model_path == str(model)
    assert routes["/SiamMask_DAVIS.pth"].ranges[1].startswith("bytes=")  # resumed after the dropped connection
    assert any(0 < value < 90 for value in progress) and progress[-1] == 100  # download, then conversion
    assert "siammask-davis ✓" in [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    assert "Ready and active" in dialog.status_label.text()

    dialog.table.selectRow(0)  # the bundled demo: chosen by clicking, stored as "" (the default)
    qtbot.mouseClick(dialog.use_button, Qt.MouseButton.LeftButton)
    assert load_settings().model_path == ""


def test_cancel_keeps_the_partial_download_unlisted(qgis_app, qtbot, tmp_path, fresh_settings):
    from qgis_siammask.gui.models_dialog import ModelsDialog
    from qgis_siammask.settings import load_settings

    routes = {"/SiamMask_DAVIS.pth": Route(os.urandom(8 << 20), "slow")}
    with serve(routes) as base:
        entry = dataclasses.replace(catalogue_entry("siammask-davis"), url=base + "/SiamMask_DAVIS.pth")
        dialog = ModelsDialog(model_dir=tmp_path / "models", catalogue=(entry,))
        qtbot.addWidget(dialog)
        qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
        assert dialog.cancel_button.isEnabled() and not dialog.download_button.isEnabled()
        qtbot.waitUntil(lambda: dialog.progress.value() > 0, timeout=60_000)
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.task is None, timeout=60_000)
    assert "Cancelled" in dialog.status_label.text()
    part = tmp_path / "models" / "SiamMask_DAVIS.pth.part"
    assert 0 < part.stat().st_size < 8 << 20
    assert [m.bundled for m in list_models(tmp_path / "models")] == [True]
    assert load_settings().model_path == ""


def test_demo_banner_offers_the_authors_model_until_another_is_installed(qgis_app, qtbot, tmp_path,
                                                                         fresh_settings):
    from qgis_siammask.gui.model_banner import DemoModelBanner

    models = tmp_path / "models"
    with serve({"/SiamMask_DAVIS.pth": Route(b"<html>gone</html>", "html")}) as base:
        entry = dataclasses.replace(catalogue_entry("siammask-davis"), url=base + "/SiamMask_DAVIS.pth")
        banner = DemoModelBanner(model_dir=models, entry=entry)
        qtbot.addWidget(banner)
        assert banner.demo_only() and not banner.isHidden() and "demo" in banner.label.text()
        qtbot.mouseClick(banner.get_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: banner.task is None, timeout=60_000)
    assert "could not be fetched" in banner.label.toolTip() and "web page" in banner.label.toolTip()
    assert banner.demo_only() and banner.get_button.isEnabled()
    models.mkdir(parents=True, exist_ok=True)
    demo = list_models(None)[0].path
    (models / "mine.pt").write_bytes(demo.read_bytes())
    banner.refresh()
    assert not banner.demo_only() and banner.isHidden()
