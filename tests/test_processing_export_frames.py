"""The Processing algorithm "Export frames" through processing.run: every Nth frame over a range of a
simulated clip over a DEM, as PNG + JSON + GeoTIFF files in the chosen folder."""

from __future__ import annotations

import json

import pytest
from qgis.core import QgsProcessingException, QgsProject, QgsRasterLayer
from test_processing_track import processing_ready  # noqa: F401 (fixture)


def test_export_frames_writes_every_nth_frame(processing_ready, tmp_path):  # noqa: F811
    import processing
    from osgeo import gdal

    from qgis_siammask.core.simulator import SimulationConfig, simulate

    clip = simulate(SimulationConfig(out_dir=tmp_path / "clip", seed=2, frames=7, width_px=320, height_px=180,
                                     dem=True, oblique_deg=30.0, vehicle_count=1, write_masks=False))
    dem = QgsRasterLayer(str(clip.dem_path), "dem")
    QgsProject.instance().addMapLayer(dem)
    try:
        outputs = processing.run("siammask:exportframes", {
            "VIDEO": str(clip.video_path), "START_FRAME": 1, "END_FRAME": 6, "EVERY_N": 2, "DEM": dem.id(),
            "GEOREF": 0, "CRS": "EPSG:32613", "OUTPUT": str(tmp_path / "frames"),
        })
    finally:
        QgsProject.instance().removeMapLayer(dem.id())
    assert outputs["FRAMES_WRITTEN"] == 3 and outputs["OUTPUT"] == str(tmp_path / "frames")
    names = sorted(p.name for p in (tmp_path / "frames").iterdir())
    expected = [f"video_f{i:06d}{suffix}" for i in (1, 3, 5) for suffix in (".png", ".json", ".tif")]
    assert names == sorted(expected)
    for index in (1, 3, 5):
        assert json.loads((tmp_path / "frames" / f"video_f{index:06d}.json").read_text())["frame"] == index
        tif = gdal.Open(str(tmp_path / "frames" / f"video_f{index:06d}.tif"))
        assert tif.RasterCount == 4 and "UTM zone 13N" in tif.GetProjection()

    with pytest.raises(QgsProcessingException, match="missing.ts"):
        processing.run("siammask:exportframes", {"VIDEO": str(tmp_path / "missing.ts"),
                                                 "OUTPUT": str(tmp_path / "none")})
