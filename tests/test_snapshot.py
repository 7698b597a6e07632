"""Snapshots (core.output.snapshot, core.frame_export): the frame warped onto the ground as a GeoTIFF read
back with GDAL, the PNG with its telemetry, every Nth frame of a simulated clip over a DEM."""
from __future__ import annotations

import json

import numpy as np
import pytest
from test_drape import HEIGHT, WIDTH, dem_clip  # noqa: F401 (fixture)

from qgis_siammask.core.errors import OutputError
from qgis_siammask.core.frame_export import FrameExportJob, export_frames, snapshot_stem
from qgis_siammask.core.geo.camera import frame_geometry
from qgis_siammask.core.geo.terrain import DemTerrain
from qgis_siammask.core.output.snapshot import (
    SNAPSHOT_TEXT_KEY,
    local_utm_crs,
    read_png_text,
    save_snapshot,
    write_png,
)


def _marked_image() -> np.ndarray:
    """Grey, with a white 6x6 square centred on the image centre (pixel (W-1)/2, (H-1)/2)."""
    image = np.full((HEIGHT, WIDTH, 3), 60, np.uint8)
    cx, cy = (WIDTH - 1) // 2, (HEIGHT - 1) // 2
    image[cy - 2:cy + 4, cx - 2:cx + 4] = 255
    return image


@pytest.mark.parametrize("crs", [None, "EPSG:3857"])
def test_geotiff_has_the_crs_and_its_centre_pixel_within_one_gsd_of_the_footprint_centre(
        dem_clip, tmp_path, crs):  # noqa: F811
    from osgeo import gdal, osr
    from pyproj import Transformer

    record = dem_clip.telemetry[2]
    camera = frame_geometry(record, WIDTH, HEIGHT, terrain=DemTerrain(dem_clip.dem_path))
    files = save_snapshot(tmp_path, "frame2", _marked_image(), 2, 0.08, record, "st0601", camera, crs)
    assert files.geotiff is not None and not files.problem
    dataset = gdal.Open(str(files.geotiff))
    expected = crs or local_utm_crs(*camera.footprint().lonlat_deg.mean(axis=0))
    assert expected == "EPSG:3857" or expected == "EPSG:32613"  # the simulator flies in UTM zone 13N
    srs = osr.SpatialReference(wkt=dataset.GetProjection())
    srs.AutoIdentifyEPSG()
    assert f"EPSG:{srs.GetAuthorityCode(None)}" == expected
    assert dataset.RasterCount == 4
    assert dataset.GetRasterBand(4).GetColorInterpretation() == gdal.GCI_AlphaBand
    bands = np.stack([dataset.GetRasterBand(i + 1).ReadAsArray() for i in range(4)], axis=-1)
    west, pixel, _, north, _, minus_pixel = dataset.GetGeoTransform()
    assert minus_pixel == -pixel
    rows, columns = np.nonzero((bands[..., 3] == 255) & (bands[..., 0] > 200))
    assert len(rows)  # the white square is on the ground image
    marker = np.array([west + (columns.mean() + 0.5) * pixel, north - (rows.mean() + 0.5) * pixel])
    centre = camera.pixels_to_ground(camera.centre_pixel()[None]).lonlat_deg[0]
    expected_xy = np.array(Transformer.from_crs("EPSG:4326", expected, always_xy=True).transform(*centre))
    gsd = pixel  # the GeoTIFF's pixel is the frame centre's ground sample distance
    print(f"{expected}: centre pixel {np.linalg.norm(marker - expected_xy):.3f} from the footprint centre, "
          f"GSD {gsd:.3f}")
    assert np.linalg.norm(marker - expected_xy) < gsd
    visible = bands[..., 3] == 255
    assert 0.3 < visible.mean() < 1.0  # a tilted quadrilateral in its bounding box: transparent around it
    assert not list(tmp_path.glob("*partial*"))


def test_png_carries_its_telemetry_and_pixels(dem_clip, tmp_path):  # noqa: F811
    from osgeo import gdal

    record = dem_clip.telemetry[1]
    camera = frame_geometry(record, WIDTH, HEIGHT, terrain=DemTerrain(dem_clip.dem_path))
    image = _marked_image()
    image[0, 0] = (10, 20, 30)  # BGR
    files = save_snapshot(tmp_path, "frame1", image, 1, 0.04, record, "horizon", camera, geotiff=False)
    assert files.geotiff is None
    text = json.loads(read_png_text(files.png)[SNAPSHOT_TEXT_KEY])
    assert text == json.loads(files.sidecar.read_text())
    assert text["frame"] == 1 and text["georef"] == "horizon"
    assert text["time_utc"].startswith("2024-06-01T12:00:00.04")
    assert text["sensor_latitude_deg"] == pytest.approx(record.sensor_latitude_deg)
    assert text["sensor_altitude_m"] == pytest.approx(record.sensor_altitude_m)
    assert text["sensor_relative_elevation_deg"] == pytest.approx(record.sensor_relative_elevation_deg)
    assert 100.0 < text["slant_range_m"] < 300.0 and len(text["corners_lonlat_deg"]) == 4
    png = gdal.Open(str(files.png))
    assert (png.RasterXSize, png.RasterYSize, png.RasterCount) == (WIDTH, HEIGHT, 3)
    assert [png.GetRasterBand(i + 1).ReadAsArray()[0, 0] for i in range(3)] == [30, 20, 10]  # RGB


def test_a_snapshot_replaces_the_old_file_whole_and_a_failed_one_leaves_it(tmp_path):
    target = tmp_path / "frame.png"
    write_png(target, np.zeros((4, 6, 3), np.uint8), {"k": "old"})
    write_png(target, np.zeros((4, 6, 3), np.uint8), {"k": "new"})
    assert read_png_text(target) == {"k": "new"} and [p.name for p in tmp_path.iterdir()] == ["frame.png"]
    (tmp_path / "blocked").write_text("a file where the folder should be")
    with pytest.raises(OutputError, match="blocked"):
        save_snapshot(tmp_path / "blocked" / "sub", "x", np.zeros((4, 6, 3), np.uint8), 0, 0.0, None,
                      "st0601")
    assert read_png_text(target) == {"k": "new"}


def test_export_every_second_frame_over_a_range(dem_clip, tmp_path):  # noqa: F811
    percents, problems = [], []
    job = FrameExportJob(str(dem_clip.video_path), str(tmp_path / "frames"), dem_path=str(dem_clip.dem_path),
                         first_frame=1, last_frame=4, every_n=2)
    written = export_frames(job, percents.append, problem=problems.append)
    stems = [snapshot_stem(dem_clip.video_path, index) for index in (1, 3)]
    assert sorted(p.name for p in (tmp_path / "frames").iterdir()) == sorted(
        f"{stem}{suffix}" for stem in stems for suffix in (".png", ".json", ".tif"))
    assert [json.loads(files.sidecar.read_text())["frame"] for files in written] == [1, 3]
    assert percents == [50.0, 100.0] and problems == []
