"""The engine must run without QGIS: importing every core module must not import qgis."""
import pkgutil
import subprocess
import sys

import qgis_siammask.core as core


def test_core_modules_never_import_qgis():
    names = [m.name for m in pkgutil.walk_packages(core.__path__, prefix="qgis_siammask.core.")]
    assert names, "no core modules found"
    script = (
        "import importlib, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'qgis' or m.startswith('qgis.'))\n"
        "print(bad)\n"
        "sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
