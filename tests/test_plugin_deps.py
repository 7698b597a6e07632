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
                          "pip": report.pip_command, "summary": report.summary(), "exe": sys.executable}))
        """
    )
    assert out["missing"] == ["torch", "rasterio"]
    assert out["tracking"] is False and out["dem"] is False and out["video"] is True
    assert out["pip"].startswith(out["exe"] + " -m pip install")
    assert out["pip"].endswith("rasterio torch")
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
        print(json.dumps({"messages": messages, "track_enabled": dock.track_button.isEnabled(),
                          "tooltip": dock.track_button.toolTip(),
                          "torch_imported": sys.modules.get("torch") is not None}))
        plugin.unload()
        """
    )
    assert len(out["messages"]) == 1
    title, text = out["messages"][0]
    assert title == "SiamMask FMV Tracker" and "torch" in text
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
    assert "(av)" in out["messages"][0][1] and "missing" in out["messages"][1][1]
