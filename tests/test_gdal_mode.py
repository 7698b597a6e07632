"""GDAL's exceptions mode is set by the plugin's code for its own calls only: a caller (QGIS, another
plugin) that turned exceptions on keeps them, the plugin still gets return codes, and GDAL 3.8 and newer
log no "Neither osr.UseExceptions() nor osr.DontUseExceptions() has been explicitly called" warning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from qgis_siammask.core.errors import OutputError
from qgis_siammask.core.output.gdal_mode import gdal_return_codes
from qgis_siammask.core.output.track_store import TrackStore

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def exceptions_on():
    """gdal, ogr and osr raising, as another plugin may leave them; restored afterwards."""
    from osgeo import gdal, ogr, osr

    before = [(module, module.GetUseExceptions()) for module in (gdal, ogr, osr)]
    for module, _ in before:
        module.UseExceptions()
    yield [module for module, _ in before]
    for module, raising in reversed(before):  # GDAL < 3.7: error handlers pop in reverse order
        if not raising:
            module.DontUseExceptions()


def test_return_codes_inside_and_the_callers_mode_after(exceptions_on, tmp_path):
    from osgeo import osr

    with pytest.raises(OutputError, match="unknown output CRS"):  # a return code, not GDAL's RuntimeError
        TrackStore(tmp_path / "run.gpkg", crs="EPSG:99999")
    with gdal_return_codes():
        assert osr.SpatialReference().SetFromUserInput("EPSG:99999") != 0
    assert all(module.GetUseExceptions() for module in exceptions_on)
    with pytest.raises(RuntimeError):
        osr.SpatialReference().SetFromUserInput("EPSG:99999")


def test_writing_and_reading_a_run_warns_nothing(tmp_path):
    """In a fresh Python (GDAL warns once per process), FutureWarning turned into an error."""
    script = textwrap.dedent(
        f"""
        from shapely.geometry import Point
        from qgis_siammask.core.output.geometry import FrameFeatures, TrackFeature
        from qgis_siammask.core.output.track_store import TrackStore
        from qgis_siammask.core.pipeline import layer_feature_counts
        track = TrackFeature(track_id=0, label="car", frame=0, time_utc=None, score=0.9, status="tracked",
                             point=Point(-104.8, 41.1))
        with TrackStore({str(tmp_path / "run.gpkg")!r}) as store:
            store.write_frame(FrameFeatures(0, None, "EPSG:4326", None, (track,)))
        print(layer_feature_counts({str(tmp_path / "run.gpkg")!r})["points"])
        """
    )
    done = subprocess.run(
        [sys.executable, "-W", "error::FutureWarning", "-c", script],
        capture_output=True, text=True, cwd=REPO_ROOT, timeout=120, env={**os.environ},
    )
    assert done.returncode == 0 and done.stdout.split() == ["1"], done.stdout + done.stderr
    assert "UseExceptions" not in done.stderr, done.stderr
