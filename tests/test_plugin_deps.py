"""The dependency check: nothing imported, hidden packages reported with the exact install command, and
the plugin still loads (one message, tracking disabled) when a package is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from qgis_siammask.core.packages.deps import FEATURE_DEM, FEATURE_TRACKING, check_dependencies

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
        from qgis_siammask.core.packages.deps import check_dependencies, FEATURE_TRACKING, FEATURE_VIDEO, FEATURE_DEM
        report = check_dependencies()
        print(json.dumps({"missing": report.missing_modules, "tracking": report.available(FEATURE_TRACKING),
                          "video": report.available(FEATURE_VIDEO), "dem": report.available(FEATURE_DEM),
                          "pip": report.install_command, "summary": report.summary(), "exe": sys.executable}))
        """
    )
    assert out["missing"] == ["torch", "rasterio"]
    assert out["tracking"] is False and out["dem"] is False and out["video"] is True
    python, install = out["pip"].split(" ", 1)  # the plugin's installer, run by QGIS's Python
    assert os.path.samefile(python, out["exe"])
    assert install.startswith("-m qgis_siammask deps install --target")
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
    from qgis_siammask.core.packages.deps import qgis_python_executable

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

    from qgis_siammask.core.packages.deps import python_version_of, qgis_python_executable

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


def test_dialog_checks_and_installs_from_local_wheels_in_the_background(qgis_app, qtbot, tmp_path,
                                                                         monkeypatch):
    """Check, then Install, clicked: a real pip (run by the headless installer in a QProcess) lists and
    installs sm_probe from a local wheel folder into a folder with a space and an umlaut, never its
    dependency sm_qgisown, which this Python already has; the dialog answers clicks while pip runs."""
    from qgis.PyQt.QtCore import Qt
    from wheel_factory import install_fake_distribution, write_wheel

    from qgis_siammask.core.packages.deps import check_dependencies
    from qgis_siammask.gui.deps_dialog import DependenciesDialog
    from qgis_siammask.core.packages.installer import PipOptions, installed_distributions, package_folder

    for name in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # this machine's wheel folder and indexes left out
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "sm_probe", "1.0", ("sm_qgisown>=1.0",))
    write_wheel(wheels, "sm_qgisown", "2.0")
    qgis_site = tmp_path / "qgis site"
    install_fake_distribution(qgis_site, "sm_qgisown", "2.0")
    monkeypatch.syspath_prepend(str(qgis_site))
    target = package_folder(tmp_path / "Jürgen Müller" / "profile")
    options = PipOptions(find_links=(str(wheels),), pip_args=("--no-index",))
    report = check_dependencies()
    dialog = DependenciesDialog(report, target=target, options=options, specs=("sm_probe",))
    qtbot.addWidget(dialog)
    dialog.show()
    assert "sm_probe" in dialog.problems_label.text() and str(target) in dialog.target_label.text()
    assert dialog.find_links_edit.text() == str(wheels) and dialog.pip_args_edit.text() == "--no-index"
    assert sys.executable in dialog.python_label.text()  # the Python running this QGIS

    qtbot.mouseClick(dialog.check_button, Qt.MouseButton.LeftButton)
    assert dialog.cancel_button.isEnabled() and not dialog.install_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=120_000)
    rows = [[dialog.table.item(r, c).text() for c in range(3)] for r in range(dialog.table.rowCount())]
    size = (wheels / "sm_probe-1.0-py3-none-any.whl").stat().st_size
    assert rows == [["sm_probe", "1.0", f"{size} B"]], dialog.log.toPlainText()
    assert "sm_qgisown 2.0" in dialog.total_label.text()  # QGIS's own, kept
    assert not target.exists()

    qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
    assert not dialog.install_button.isEnabled()
    qtbot.waitUntil(lambda: dialog.process is None, timeout=120_000)
    log = dialog.log.toPlainText()
    assert "Restart QGIS" in dialog.status_label.text(), log
    assert "--no-deps" in log and "Successfully installed sm_probe-1.0" in log
    assert installed_distributions([str(target)]) == {"sm-probe": "1.0"}
    dialog.reject()


def test_plugin_start_appends_its_package_folder_after_site_packages(tmp_path):
    """QGIS started with a profile under a path with a space and umlauts: classFactory puts the plugin's
    package folder on sys.path behind QGIS's site-packages, before the dependency check reads it."""
    profile = tmp_path / "Jürgen Müller" / "QGIS3" / "profiles" / "default"
    folder = profile / "siammask" / "python" / f"py{sys.version_info[0]}{sys.version_info[1]}"
    folder.mkdir(parents=True)
    (folder / "sm_in_plugin_folder.py").write_text("")
    out = _run(
        f"""
        import importlib.util, json, sys, sysconfig
        sys.path.insert(0, "tests")
        from qgis.core import QgsApplication
        app = QgsApplication([], True, {str(profile)!r})
        app.initQgis()
        from test_plugin_support import StubInterface
        import qgis_siammask
        before = list(sys.path)
        plugin = qgis_siammask.classFactory(StubInterface())
        plugin.initGui()
        print(json.dumps({{"before": before, "after": sys.path, "site": sysconfig.get_paths()["purelib"],
                          "found": importlib.util.find_spec("sm_in_plugin_folder").origin,
                          "report_folder": plugin.dependencies.package_folder}}))
        plugin.unload()
        """
    )
    assert str(folder) not in out["before"] and out["after"][-1] == str(folder)
    assert out["after"].index(out["site"]) < out["after"].index(str(folder))
    assert out["found"] == str(folder / "sm_in_plugin_folder.py")
    assert out["report_folder"] == str(folder)


def test_dialog_cancel_stops_pip_and_leaves_the_old_folder(qgis_app, qtbot, tmp_path, monkeypatch):
    """Wheels served from 127.0.0.1, the install's download held back by the server: Cancel clicked while
    pip downloads into the temporary folder stops it; the old folder is as it was, nothing is left over."""
    import functools
    import threading
    import time
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    from qgis.PyQt.QtCore import Qt
    from wheel_factory import write_wheel

    from qgis_siammask.core.packages.deps import check_dependencies
    from qgis_siammask.gui.deps_dialog import TERMINATE_GRACE_MS, DependenciesDialog
    from qgis_siammask.core.packages.installer import PipOptions, package_folder

    for name in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    write_wheel(wheels, "sm_slow", "1.0")
    downloads = []

    class SlowSecondDownload(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            if self.path.endswith(".whl"):
                downloads.append(self.path)
                if len(downloads) > 1:  # the plan's download passes; the install's hangs
                    time.sleep(30)
            super().do_GET()

        def log_message(self, *args):
            pass

    handler = functools.partial(SlowSecondDownload, directory=str(wheels))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = package_folder(tmp_path / "Jürgen Müller" / "profile")
    target.mkdir(parents=True)
    (target / "old_package.py").write_text("kept\n")
    options = PipOptions(find_links=(f"http://127.0.0.1:{server.server_address[1]}/",),
                         pip_args=("--no-index", "--no-cache-dir"))
    dialog = DependenciesDialog(check_dependencies(), target=target, options=options, specs=("sm_slow",))
    qtbot.addWidget(dialog)
    try:
        qtbot.mouseClick(dialog.install_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: len(downloads) > 1, timeout=120_000)
        assert list(target.parent.glob(target.name + ".tmp-*"))  # pip is at work beside the target
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.process is None, timeout=20_000)
    finally:
        server.shutdown()
    assert "nothing was changed" in dialog.status_label.text(), dialog.log.toPlainText()
    assert [p.name for p in target.iterdir()] == ["old_package.py"]
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]
    assert dialog.install_button.isEnabled()
    dialog.reject()
    dialog.deleteLater()
    qtbot.wait(TERMINATE_GRACE_MS + 500)  # the kill deadline dies with the process: nothing fires later
