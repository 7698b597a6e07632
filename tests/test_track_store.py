"""GeoPackage track store: written frame by frame, read back by geopandas and by QGIS, survives kills."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from shapely.geometry import Point, Polygon

from qgis_siammask.core import definitions as d
from qgis_siammask.core.errors import OutputError
from qgis_siammask.core.output.geometry import FrameFeatures, TrackFeature
from qgis_siammask.core.output.gpkg_format import LAYER_FIELDS, check_writable
from qgis_siammask.core.output.track_store import TrackStore

START_UTC = datetime(2026, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
STEP_DEG = 2e-5  # ~1.5 m east per frame at 46 N


def synthetic_frame(frame: int, track_ids=(0, 1), no_camera: bool = False, crs: str = d.DEFAULT_CRS) -> FrameFeatures:
    """A frame whose tracks are 2 m squares moving east, track k offset k * 10 m north."""
    from pyproj import Transformer
    from shapely.ops import transform

    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform
    time_utc = START_UTC + timedelta(seconds=frame / 25)
    if no_camera:
        tracks = tuple(
            TrackFeature(k, f"car{k}", frame, time_utc, 0.5, d.STATUS_TRACKING, geo_flag=d.GEO_FLAG_NO_CAMERA)
            for k in track_ids
        )
        return FrameFeatures(frame, time_utc, d.DEFAULT_CRS, None, tracks, d.GEO_FLAG_NO_CAMERA, "NaN telemetry")
    tracks = []
    for k in track_ids:
        lon, lat = 7.0 + frame * STEP_DEG, 46.0 + k * 9e-5
        square = Polygon([(lon, lat), (lon + 2.6e-5, lat), (lon + 2.6e-5, lat + 1.8e-5), (lon, lat + 1.8e-5)])
        square = transform(to_crs, square)
        point = transform(to_crs, Point(lon, lat))
        tracks.append(
            TrackFeature(k, f"car{k}", frame, time_utc, 0.9, d.STATUS_TRACKING, square, square, point, (lon, lat), 38.7, 90.0)
        )
    footprint = transform(to_crs, Polygon([(6.99, 45.99), (7.02, 45.99), (7.02, 46.01), (6.99, 46.01)]))
    return FrameFeatures(frame, time_utc, crs, footprint, tuple(tracks))


def write_frames(path: Path, frames, crs: str = d.DEFAULT_CRS, mode: str = "replace") -> TrackStore:
    store = TrackStore(path, crs=crs, mode=mode)
    for frame in frames:
        store.write_frame(synthetic_frame(frame, crs=crs))
    return store


def test_geopackage_read_back_by_geopandas_with_fields_and_lines(tmp_path):
    import geopandas as gpd

    path = tmp_path / "out.gpkg"
    with TrackStore(path) as store:
        for frame in range(10):
            store.write_frame(synthetic_frame(frame, no_camera=(frame == 4)))
    assert store.frames_written == 10
    counts = {layer: len(gpd.read_file(path, layer=layer)) for layer in d.TRACK_LAYERS}
    assert counts == {d.LAYER_MASKS: 18, d.LAYER_BOXES: 18, d.LAYER_POINTS: 20, d.LAYER_LINES: 2, d.LAYER_FOOTPRINTS: 10}
    points = gpd.read_file(path, layer=d.LAYER_POINTS)
    assert list(points.columns[:-1]) == [f.name for f in LAYER_FIELDS[d.LAYER_POINTS]]
    assert str(points[d.FIELD_TIME_UTC].dtype) == "datetime64[ns, UTC]"
    assert points.crs.to_epsg() == 4326
    first = points[(points.frame == 3) & (points.track_id == 1)].iloc[0]
    assert first[d.FIELD_TIME_UTC] == START_UTC + timedelta(seconds=3 / 25)
    assert first.geometry.x == pytest.approx(7.0 + 3 * STEP_DEG, abs=1e-12)
    assert (first[d.FIELD_LABEL], first[d.FIELD_STATUS], first[d.FIELD_SPEED_MPS]) == ("car1", "tracking", 38.7)
    flagged = points[points.frame == 4]
    assert flagged.geometry.isna().all() and (flagged[d.FIELD_GEO_FLAG] == d.GEO_FLAG_NO_CAMERA).all()
    masks = gpd.read_file(path, layer=d.LAYER_MASKS)
    assert set(masks.geom_type) == {"MultiPolygon"}
    lines = gpd.read_file(path, layer=d.LAYER_LINES).sort_values(d.FIELD_TRACK_ID)
    assert list(lines[d.FIELD_POINT_COUNT]) == [9, 9]
    assert list(lines[d.FIELD_LAST_FRAME]) == [9, 9]
    # 9 frames, 1.55 m apart at 46 N: the geodesic length, not a length in degrees
    assert lines.iloc[0][d.FIELD_LENGTH_M] == pytest.approx(9 * STEP_DEG * 111_320 * 0.69466 * 1.0017, rel=3e-3)
    assert len(lines.iloc[0].geometry.coords) == 9


def test_geopackage_read_back_by_qgis(qgis_app, tmp_path):
    from qgis.core import QgsVectorLayer

    path = tmp_path / "out.gpkg"
    write_frames(path, range(6), crs="EPSG:32632").close()
    expected_counts = {d.LAYER_MASKS: 12, d.LAYER_BOXES: 12, d.LAYER_POINTS: 12, d.LAYER_LINES: 2, d.LAYER_FOOTPRINTS: 6}
    for name, expected in expected_counts.items():
        layer = QgsVectorLayer(f"{path}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        assert layer.featureCount() == expected, name
        assert layer.crs().authid() == "EPSG:32632"
        assert [f.name() for f in layer.fields()][1:] == [f.name for f in LAYER_FIELDS[name]]  # [0] is fid
        feature = next(layer.getFeatures())
        if name == d.LAYER_POINTS:
            time_utc = feature[d.FIELD_TIME_UTC]
            assert time_utc.toString("yyyy-MM-ddTHH:mm:ss") == "2026-05-01T12:00:00"
            assert 300_000 < feature.geometry().asPoint().x() < 500_000  # UTM 32N easting near 7 E
        del feature, layer


def test_append_continues_and_replace_starts_over(tmp_path):
    import geopandas as gpd

    path = tmp_path / "out.gpkg"
    write_frames(path, range(3)).close()
    store = TrackStore(path, mode="append")
    assert store.next_track_id == 2
    for frame in range(3, 6):
        store.write_frame(synthetic_frame(frame))
    store.close()
    lines = gpd.read_file(path, layer=d.LAYER_LINES)
    assert len(gpd.read_file(path, layer=d.LAYER_POINTS)) == 12
    assert sorted(lines[d.FIELD_POINT_COUNT]) == [6, 6]
    write_frames(path, range(2)).close()
    assert len(gpd.read_file(path, layer=d.LAYER_POINTS)) == 4


def test_footprints_keep_the_georeferencing_mode_and_an_older_file_gains_the_field(tmp_path):
    import dataclasses

    import geopandas as gpd
    from osgeo import ogr

    path = tmp_path / "out.gpkg"
    write_frames(path, range(2)).close()
    dataset = ogr.Open(str(path), 1)  # a file written before the field existed
    footprints = dataset.GetLayerByName(d.LAYER_FOOTPRINTS)
    assert footprints.DeleteField(footprints.GetLayerDefn().GetFieldIndex(d.FIELD_GEOREF)) == 0
    dataset = footprints = None
    with TrackStore(path, mode="append") as store:
        store.write_frame(dataclasses.replace(synthetic_frame(2), georef=d.GEOREF_HORIZON))
    written = gpd.read_file(path, layer=d.LAYER_FOOTPRINTS)
    assert list(written[d.FIELD_GEOREF].fillna("")) == ["", "", d.GEOREF_HORIZON]


def test_append_refuses_another_crs(tmp_path):
    path = tmp_path / "out.gpkg"
    write_frames(path, range(1)).close()
    with pytest.raises(OutputError, match="EPSG:3857"):
        TrackStore(path, crs="EPSG:3857", mode="append")


def test_features_in_another_crs_are_refused(tmp_path):
    with TrackStore(tmp_path / "out.gpkg", crs="EPSG:32632") as store, pytest.raises(ValueError, match="EPSG:4326"):
        store.write_frame(synthetic_frame(0))


@pytest.mark.parametrize("make_bad_path", ["under_a_file", "folder", "not_gpkg", "append_to_text"])
def test_unwritable_output_is_refused_before_writing(tmp_path, make_bad_path):
    text_file = tmp_path / "notes.gpkg"
    text_file.write_text("not a geopackage")
    bad = {
        "under_a_file": tmp_path / "notes.gpkg" / "out.gpkg",
        "folder": tmp_path,
        "not_gpkg": tmp_path / "out.shp",
        "append_to_text": text_file,
    }[make_bad_path]
    mode = "append" if make_bad_path == "append_to_text" else "replace"
    with pytest.raises(OutputError) as raised:
        check_writable(bad, mode)
    assert str(bad) in raised.value.user_message
    with pytest.raises(OutputError):
        TrackStore(bad, mode=mode)
    assert text_file.read_text() == "not a geopackage"


_WRITER_SCRIPT = textwrap.dedent(
    """
    import sys, resource, signal
    sys.path.insert(0, {tests_dir!r})
    from test_track_store import synthetic_frame
    from qgis_siammask.core.errors import OutputError
    from qgis_siammask.core.output.track_store import TrackStore
    if {fsize_limit!r}:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, ({fsize_limit!r}, {fsize_limit!r}))
    store = TrackStore({path!r})
    frame = 0
    try:
        while True:
            store.write_frame(synthetic_frame(frame))
            print(frame, flush=True)
            frame += 1
    except OutputError as error:
        print("OutputError", error.user_message, flush=True)
    """
)


def _writer(path: Path, fsize_limit: int = 0) -> subprocess.Popen:
    script = _WRITER_SCRIPT.format(tests_dir=str(Path(__file__).parent), path=str(path), fsize_limit=fsize_limit)
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)


def test_killed_writer_leaves_every_committed_frame(tmp_path):
    import geopandas as gpd

    path = tmp_path / "killed.gpkg"
    writer = _writer(path)
    for line in writer.stdout:
        if int(line) == 60:
            break
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    frames = sorted(set(gpd.read_file(path, layer=d.LAYER_POINTS)[d.FIELD_FRAME]))
    assert frames[:61] == list(range(61))  # every frame reported committed is there
    assert frames == list(range(len(frames)))  # and nothing half-written
    masks = gpd.read_file(path, layer=d.LAYER_MASKS)
    assert len(masks) == 2 * len(frames)
    lines = gpd.read_file(path, layer=d.LAYER_LINES)
    assert len(lines) == 2 and min(lines[d.FIELD_POINT_COUNT]) >= 60  # lines lag by at most 1 %
    with TrackStore(path, mode="append"):  # re-opening brings the lines up to date
        pass
    assert set(gpd.read_file(path, layer=d.LAYER_LINES)[d.FIELD_POINT_COUNT]) == {len(frames)}


def test_full_disk_is_an_output_error_and_keeps_earlier_frames(tmp_path):
    import geopandas as gpd

    path = tmp_path / "full.gpkg"
    writer = _writer(path, fsize_limit=400_000)
    output = writer.communicate(timeout=60)[0].splitlines()
    assert writer.returncode == 0
    assert output[-1].startswith("OutputError") and "disk full" in output[-1]
    last_committed = int(output[-2])
    assert last_committed > 10
    points = gpd.read_file(path, layer=d.LAYER_POINTS)
    assert sorted(set(points[d.FIELD_FRAME])) == list(range(last_committed + 1))
