"""The Qt-only widgets (frame view, player, targets panel) work under PyQt6, driven with QTest events.

No QGIS 4 build can be installed here, so this is what stands for it: each check of
tests/qt6_widgets_driver.py runs in a child process whose `qgis.PyQt` is tests/qt6_shim (PyQt6 from PyPI,
requirements-qt6.txt), so the widgets load through their own import lines and PyQt5 never meets PyQt6.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS_DIR = Path(__file__).resolve().parent
DRIVER = TESTS_DIR / "qt6_widgets_driver.py"
CHECKS = (
    "frame_view_drag",
    "frame_view_zoom_pan_keys",
    "player_buttons_and_keys",
    "targets_panel_from_drawn_boxes",
    "tracks_panel_show_rename_delete",
    "no_qgis_core",
)


@pytest.mark.parametrize("check", CHECKS)
def test_widget_under_pyqt6(check, qt6_env):
    paths = [str(TESTS_DIR / "qt6_shim"), qt6_env["PYTHONPATH"], str(TESTS_DIR.parent)]
    env = {**qt6_env, "PYTHONPATH": ":".join(paths)}
    result = subprocess.run(
        [sys.executable, str(DRIVER), check], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-6000:]
    assert f"PASS {check} (PyQt6 6." in result.stdout


def test_driver_runs_every_check():
    source = DRIVER.read_text(encoding="utf-8")
    assert sorted(CHECKS) == sorted(re.findall(r"^def check_(\w+)\(", source, re.MULTILINE))
