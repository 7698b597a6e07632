"""Live map layers fed with the engine's FrameFeatures: per-track styling, growing track lines,
temporal properties, playback layers, GeoPackage export read back, and removal of the whole group."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from qgis.core import (
    QgsDateTimeRange,
    QgsProject,
    QgsVectorLayer,
    QgsVectorLayerTemporalContext,
    QgsVectorLayerTemporalProperties,
)
from qgis.PyQt.QtCore import QDateTime, Qt
from shapely.geometry import Point, Polygon

from qgis_siammask.core.output.geometry import FrameFeatures, TrackFeature

START = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def _frame(index: int, track_ids=(1, 2), crs="EPSG:4326") -> FrameFeatures:
    time_utc = START + timedelta(seconds=index / 25.0)
    tracks = []
    for track_id in track_ids:
        x, y = -104.82 + 1e-5 * index + 1e-3 * track_id, 41.14
        box = Polygon(
            [(x - 2e-5, y - 1e-5), (x + 2e-5, y - 1e-5), (x + 2e-5, y + 1e-5), (x - 2e-5, y + 1e-5)]
        )
        tracks.append(
            TrackFeature(
                track_id,
                f"car {track_id}",
                index,
                time_utc,
                0.9,
                "tracking",
                mask=box.buffer(-2e-6),
                box=box,
                point=Point(x, y),
                lonlat_deg=(x, y),
                speed_mps=4.0,
                heading_deg=90.0,
            )
        )
    footprint = Polygon([(-104.83, 41.13), (-104.81, 41.13), (-104.81, 41.15), (-104.83, 41.15)])
    return FrameFeatures(index, time_utc, crs, footprint, tuple(tracks))


@pytest.fixture()
def group(qgis_app):
    from qgis_siammask.layer_tree import VideoLayerGroup

    video_group = VideoLayerGroup("clip.ts")
    yield video_group
    video_group.remove()


def test_track_layers_fill_style_and_export(group, tmp_path):
    from qgis_siammask.layers import TrackLayers, track_color

    layers = TrackLayers(group, "EPSG:4326", frame_duration_s=0.04)
    layers.add_frames([_frame(0), _frame(1)])
    layers.add_frames([_frame(2), _frame(3, track_ids=(1,))])
    counts = layers.feature_counts()
    extent = layers.time_extent()
    assert (
        extent.end().toMSecsSinceEpoch() - extent.begin().toMSecsSinceEpoch() == 120
    )  # frames 0..3 at 25 fps
    assert counts == {"masks": 7, "boxes": 7, "points": 7, "lines": 2, "footprints": 4}
    lines = {f["track_id"]: f for f in layers.layers["lines"].getFeatures()}
    assert lines[1].geometry().constGet().numPoints() == 4 and lines[2]["points"] == 3
    assert (
        lines[1]["length_m"] > 0
        and lines[1]["last_frame"] == 3
        and lines[1]["end_utc"].toMSecsSinceEpoch() > lines[1]["start_utc"].toMSecsSinceEpoch()
    )

    renderer = layers.layers["masks"].renderer()
    assert [c.value() for c in renderer.categories()] == [1, 2]
    assert renderer.categories()[1].symbol().color().name() == track_color(2).name()

    points = layers.layers["points"]
    temporal = points.temporalProperties()
    assert (
        temporal.isActive()
        and temporal.mode() == QgsVectorLayerTemporalProperties.ModeFeatureDateTimeInstantFromField
    )
    assert temporal.startField() == "time_utc"
    frame2 = QDateTime.fromMSecsSinceEpoch(
        int((START + timedelta(seconds=2 / 25)).timestamp() * 1000), Qt.TimeSpec.UTC
    )
    context = QgsVectorLayerTemporalContext()
    context.setLayer(points)
    filter_expression = temporal.createFilterString(context, QgsDateTimeRange(frame2, frame2.addMSecs(10)))
    assert len(list(points.getFeatures(filter_expression))) == 2  # both tracks, only frame 2

    exported = layers.export_geopackage(tmp_path / "out.gpkg")
    for name, count in counts.items():
        read_back = QgsVectorLayer(f"{exported}|layername={name}", name, "ogr")
        assert read_back.isValid() and read_back.featureCount() == count, name
    first = next(QgsVectorLayer(f"{exported}|layername=points", "p", "ogr").getFeatures())
    assert first["label"].startswith("car") and first["time_utc"].isValid()

    from qgis_siammask.layer_tree import VideoLayerGroup

    from_file = TrackLayers(VideoLayerGroup("exported"), "EPSG:4326", 0.04, geopackage=exported)
    try:
        assert from_file.feature_counts() == counts
        assert {layer.providerType() for layer in from_file.layers.values()} == {"ogr"}
        categories = from_file.layers["points"].renderer().categories()
        assert [c.value() for c in categories] == [1, 2] and categories[0].label().startswith("1: car")
    finally:
        from_file.group.remove()


def test_projected_crs_and_group_removal(qgis_app):
    from qgis_siammask.layer_tree import VideoLayerGroup
    from qgis_siammask.layers import TrackLayers
    from qgis_siammask.playback_layers import PlaybackLayers

    parent = VideoLayerGroup("other.ts")
    run = VideoLayerGroup("tracks 1", parent=parent)
    layers = TrackLayers(run, "EPSG:32613", frame_duration_s=0.04)
    assert layers.layers["points"].crs().authid() == "EPSG:32613"
    playback = PlaybackLayers(parent)
    playback.show(
        5,
        START,
        [(-104.83, 41.13), (-104.81, 41.13), (-104.81, 41.15), (-104.83, 41.15)],
        (-104.82, 41.14),
        None,
    )
    assert playback.footprint.featureCount() == 1 and playback.platform.featureCount() == 1
    assert playback.centre.featureCount() == 0
    assert playback.sight.featureCount() == 0 and playback.trail.featureCount() == 0  # no centre, one point
    layer_ids = [layer.id() for layer in parent.layers() + run.layers()]
    assert len(layer_ids) == 11  # 5 playback and the video frame, 5 run
    run.remove()
    parent.remove()
    assert all(QgsProject.instance().mapLayer(i) is None for i in layer_ids)
    assert QgsProject.instance().layerTreeRoot().findGroup("other.ts") is None
    parent.remove()  # twice is harmless


def test_a_run_without_corrections_opens_with_nothing_in_the_log(group, tmp_path):
    """Its GeoPackage has no corrections table: it is not asked of OGR, which logs a missing layer."""
    from qgis.core import QgsApplication

    from qgis_siammask.layer_tree import VideoLayerGroup
    from qgis_siammask.layers import TrackLayers

    layers = TrackLayers(group, "EPSG:4326", frame_duration_s=0.04)
    layers.add_frames([_frame(0), _frame(1)])
    exported = layers.export_geopackage(tmp_path / "out.gpkg")
    logged = []

    def record(message, tag, level):
        logged.append((tag, message))

    QgsApplication.messageLog().messageReceived.connect(record)
    try:
        from_file = TrackLayers(VideoLayerGroup("exported"), "EPSG:4326", 0.04, geopackage=exported)
    finally:
        QgsApplication.messageLog().messageReceived.disconnect(record)
    try:
        assert from_file.complete and from_file.corrections is None
        assert logged == []
    finally:
        from_file.group.remove()
