"""The dependency check: nothing imported, hidden packages reported with the exact install command, and
the plugin still loads (one message, tracking disabled) when a package is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from qgis_siammask.deps import FEATURE_DEM, FEATURE_TRACKING, check_dependencies

REPO_ROOT = Path(__file__).resolve().parent.parent


def _run(script: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_everything_present_here_and_nothing_imported():
    before = set(sys.modules)
    report = check_dependencies()
    assert report.ok, report.summary()
    assert report.available(FEATURE_TRACKING) and report.available(FEATURE_DEM)
    newly_imported = {
        m for m in set(sys.modules) - before if m.split(".")[0] in {"torch", "cv2", "av", "rasterio"}
    }
    assert not newly_imported


def test_hidden_package_is_reported_with_the_pip_command():
    out = _run(
        """
        import sys, json
        sys.modules["torch"] = None      # hide torch: import torch would raise ImportError
        sys.modules["rasterio"] = None
        from qgis_siammask.deps import check_dependencies, FEATURE_TRACKING, FEATURE_VIDEO, FEATURE_DEM
        report = check_dependencies()
        print(json.dumps({"missing": report.missing_modules, "tracking": report.available(FEATURE_TRACKING),
                          "video": report.available(FEATURE_VIDEO), "dem": report.available(FEATURE_DEM),
                          "pip": report.install_command, "summary": report.summary(), "exe": sys.executable}))
        """
    )
    assert out["missing"] == ["torch", "rasterio"]
    assert out["tracking"] is False and out["dem"] is False and out["video"] is True
    python, install = out["pip"].split(" ", 1)  # the plugin's installer, run by QGIS's Python
    assert os.path.samefile(python, out["exe"]) and install.startswith("-m qgis_siammask deps install --target")
    assert install.endswith("'rasterio>=1.2' 'torch>=2.0'")
    assert "torch (missing)" in out["summary"] and out["pip"] in out["summary"]


def test_plugin_loads_without_torch_with_one_message_and_tracking_disabled():
    out = _run(
        """
        import sys, json
        sys.modules["torch"] = None
        sys.path.insert(0, "tests")
        from qgis.testing import start_app
        from test_plugin_support import StubInterface
        app = start_app()
        iface = StubInterface()
        messages = iface.messages
        import qgis_siammask
        plugin = qgis_siammask.classFactory(iface)
        plugin.initGui()
        dock = plugin.show_dock()
        from qgis.PyQt.QtCore import Qt, QTimer
        from qgis.PyQt.QtTest import QTest
        from qgis.PyQt.QtWidgets import QPushButton
        button = iface.message_bar.currentItem().findChild(QPushButton)
        opened = []
        def close_dialog():
            dialog = app.activeModalWidget()
            opened.append(type(dialog).__name__)
            dialog.reject()
        QTimer.singleShot(300, close_dialog)
        QTest.mouseClick(button, Qt.MouseButton.LeftButton)
        print(json.dumps({"messages": messages, "track_enabled": dock.track_button.isEnabled(),
                          "button": button.text(), "opened": opened,
                          "tooltip": dock.track_button.toolTip(),
                          "torch_imported": sys.modules.get("torch") is not None}))
        plugin.unload()
        """
    )
    assert len(out["messages"]) == 1
    title, text = out["messages"][0]
    assert title == "SiamMask FMV Tracker" and text == "Tracking is off: torch missing."  # fits the bar
    assert out["button"] == "Python packages…" and out["opened"] == ["DependenciesDialog"]
    assert out["track_enabled"] is False and "torch" in out["tooltip"]
    assert out["torch_imported"] is False


def test_without_av_the_dock_stays_closed_and_says_why():
    out = _run(
        """
        import sys, json
        sys.modules["av"] = None
        sys.path.insert(0, "tests")
        from qgis.testing import start_app
        from test_plugin_support import StubInterface
        app = start_app()
        iface = StubInterface()
        import qgis_siammask
        plugin = qgis_siammask.classFactory(iface)
        plugin.initGui()
        dock = plugin.show_dock()
        print(json.dumps({"dock": dock is not None, "messages": iface.messages,
                          "checked": plugin.dock_action.isChecked()}))
        plugin.unload()
        """
    )
    assert out["dock"] is False and out["checked"] is False
    assert len(out["messages"]) == 2  # the start-up message, then the answer to opening the dock
    assert "av missing" in out["messages"][0][1] and "missing" in out["messages"][1][1]


def test_python_of_qgis_per_platform():
    from qgis_siammask.deps import qgis_python_executable

    def only(*paths, version=(3, 11, 2)):
        return lambda path: version if path in paths else None

    osgeo = r"C:\OSGeo4W\apps\Python39"
    windows = qgis_python_executable(
        "win32", r"C:\OSGeo4W\bin\qgis-bin.exe", (osgeo,), (3, 9, 5),
        only(str(Path(osgeo) / "python.exe"), version=(3, 9, 5)),
    )
    assert windows.endswith("python.exe") and "Python39" in windows
    mac_prefix = "/Applications/QGIS.app/Contents/Frameworks/Python.framework/Versions/3.9"
    mac = qgis_python_executable(
        "darwin", "/Applications/QGIS.app/Contents/MacOS/QGIS", (mac_prefix,), (3, 9, 5),
        only(f"{mac_prefix}/bin/python3.9", version=(3, 9, 5)),
    )
    assert mac == f"{mac_prefix}/bin/python3.9"
    linux = qgis_python_executable(
        "linux", "/usr/bin/qgis", ("/usr",), (3, 11, 2), only("/usr/bin/python3.11")
    )
    assert linux == "/usr/bin/python3.11"
    # a venv's interpreter first, the base installation's after it
    venv = qgis_python_executable(
        "linux", "/venv/bin/python", ("/venv", "/usr"), (3, 11, 2),
        only("/venv/bin/python3.11", "/usr/bin/python3.11"),
    )
    assert venv == "/venv/bin/python3.11"
    # a candidate of another version (here 3.11.7 while 3.11.2 runs) is not QGIS's Python
    assert qgis_python_executable(
        "linux", "/usr/bin/qgis", ("/usr",), (3, 11, 2), only("/usr/bin/python3.11", version=(3, 11, 7))
    ) == "/usr/bin/python3.11"  # nothing checks out: the first candidate, not the QGIS binary


def test_python_of_qgis_is_not_a_shim_on_path(tmp_path):
    """sys.executable faked to a pyenv-like shim of another Python: the running prefix's interpreter,
    checked by running it, is named instead."""
    import sys

    from qgis_siammask.deps import python_version_of, qgis_python_executable

    shim = tmp_path / "shims" / "python3"
    shim.parent.mkdir()
    shim.write_text("#!/bin/sh\necho 3 11 7\n")
    shim.chmod(0o755)
    assert python_version_of(str(shim)) == (3, 11, 7)
    found = qgis_python_executable(executable=str(shim))
    assert found != str(shim)
    assert python_version_of(found) == tuple(sys.version_info[:3])
    assert Path(found).parent.parent in (Path(sys.prefix), Path(sys.base_prefix))
    assert python_version_of(str(tmp_path / "none")) is None


def _write_wheel(folder: Path, name: str, version: str) -> Path:
    """A minimal pure-Python wheel (a zip with the dist-info files pip reads), made without a network."""
    import base64
    import hashlib
    import zipfile

    files = {
        f"{name}.py": f"VERSION = {version!r}\n",
        f"{name}-{version}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{name}-{version}.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    record = []
    for path, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(text.encode())}")
    record.append(f"{name}-{version}.dist-info/RECORD,,")
    files[f"{name}-{version}.dist-info/RECORD"] = "\n".join(record) + "\n"
    wheel = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def test_dialog_installs_from_a_local_wheel_in_the_background(qgis_app, qtbot, tmp_path):
    from qgis.PyQt.QtCore import Qt

    from qgis_siammask.deps import Requirement, check_dependencies
    from qgis_siammask.gui.deps_dialog import DependenciesDialog

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _write_wheel(wheels, "siammask_probe", "1.0")
    target = tmp_path / "site"
    probe = Requirement("siammask_probe", "siammask_probe", "siammask_probe==1.0", ("probe",))
    report = check_dependencies((probe,))
    assert report.missing_modules == ["siammask_probe"]
    dialog = DependenciesDialog(report, find_links=str(wheels), target=str(target))
    qtbot.addWidget(dialog)
    dialog.show()
    assert "siammask_probe==1.0" in dialog.problems_label.text()
    labels = " ".join(label.text() for label in dialog.findChildren(type(dialog.status_label)))
    assert sys.executable in labels  # the Python running this QGIS
    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    assert not dialog.install_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=120_000)
    assert "Restart QGIS" in dialog.status_label.text(), dialog.log.toPlainText()
    assert (target / "siammask_probe.py").read_text() == "VERSION = '1.0'\n"
    assert "--no-index" in dialog.log.toPlainText() and "Successfully installed" in dialog.log.toPlainText()
