"""pyproj on QGIS's pooled task threads: tracking tasks one after another on the same Qt thread must not
crash QGIS (pyproj 3.7.0-3.7.2 freed a thread's PROJ context with its Python state but kept using it)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qgis_siammask.python_thread import in_python_thread

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_result_and_exception_come_back():
    assert in_python_thread(divmod, 7, 2) == (3, 1)
    with pytest.raises(ZeroDivisionError):
        in_python_thread(divmod, 1, 0)


def test_pyproj_in_qgis_tasks_one_after_another(qgis_app):
    """In a fresh QGIS (a crash must not take pytest down): six tasks on QGIS's pool, one at a time."""
    script = textwrap.dedent(
        """
        from qgis.core import QgsApplication, QgsTask
        from qgis.testing import start_app
        from qgis_siammask.python_thread import in_python_thread

        app = start_app()
        manager = QgsApplication.taskManager()
        names = []

        def crs(task):
            import pyproj
            return in_python_thread(lambda: pyproj.CRS.from_user_input("EPSG:32613").name)

        for index in range(6):
            task = QgsTask.fromFunction("crs", crs, on_finished=lambda error, name=None: names.append(name))
            manager.addTask(task)
            while len(names) <= index:
                app.processEvents()
        print(names)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO_ROOT, timeout=120,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == str(["WGS 84 / UTM zone 13N"] * 6)
