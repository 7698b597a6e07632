"""The Processing algorithm "Track objects in video" through processing.run, as batch mode and models
call it: a GeoPackage that reads back, and clear errors for bad boxes."""

from __future__ import annotations

import sys

import pytest
from qgis.core import QgsApplication, QgsProcessingAlgorithm, QgsProcessingException, QgsVectorLayer
from test_plugin_support import simulated_clip, tracking_model

QGIS_PLUGINS = "/usr/share/qgis/python/plugins"
FRAMES = 10


@pytest.fixture(scope="module")
def processing_ready(qgis_app):
    if QGIS_PLUGINS not in sys.path:
        sys.path.append(QGIS_PLUGINS)
    from processing.core.Processing import Processing

    from qgis_siammask.processing.provider import SiamMaskProvider

    Processing.initialize()
    provider = SiamMaskProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    yield provider
    QgsApplication.processingRegistry().removeProvider(provider)


def test_algorithm_runs_through_processing_run(processing_ready, tmp_path_factory, tmp_path, request):
    import processing
    from qgis.core import QgsProcessingContext, QgsProject

    result, targets = simulated_clip(tmp_path_factory.getbasetemp(), FRAMES)
    output = tmp_path / "tracks.gpkg"
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    outputs = processing.run(
        "siammask:trackobjectsinvideo",
        {
            "VIDEO": str(result.video_path),
            "MODEL": tracking_model(request),
            "START_FRAME": 0,
            "END_FRAME": 5,
            "BOXES": ";".join(",".join(f"{v:.1f}" for v in box) for _, box in targets[:2]),
            "LABELS": "truck;car",
            "DEVICE": 2,  # cpu
            "OUTPUT": str(output),
        },
        context=context,
    )
    assert outputs["STATUS"] == "success"
    to_load = context.layersToLoadOnCompletion()  # what QGIS adds to the map when the run ends
    assert sorted(details.name for details in to_load.values()) == sorted(
        ["masks", "boxes", "points", "lines", "footprints"]
    )
    assert f"{output}|layername=points" in to_load
    assert outputs["FRAMES_TRACKED"] == 6
    assert outputs["OUTPUT"] == str(output)
    points = QgsVectorLayer(f"{output}|layername=points", "points", "ogr")
    assert points.isValid() and points.featureCount() == 12
    assert {f["label"] for f in points.getFeatures()} == {"truck", "car"}
    assert QgsVectorLayer(f"{output}|layername=lines", "lines", "ogr").featureCount() == 2
    assert {f["frame"] for f in points.getFeatures()} == set(range(6))


def test_bad_boxes_are_refused_with_a_clear_message(processing_ready, tmp_path):
    import processing

    with pytest.raises(QgsProcessingException, match="x,y,width,height"):
        processing.run(
            "siammask:trackobjectsinvideo",
            {"VIDEO": __file__, "BOXES": "10,20,30", "OUTPUT": str(tmp_path / "never.gpkg")},
        )


def test_usable_in_models_and_batch(processing_ready):
    algorithm = QgsApplication.processingRegistry().algorithmById("siammask:trackobjectsinvideo")
    assert not algorithm.flags() & QgsProcessingAlgorithm.FlagHideFromModeler
    assert not algorithm.flags() & QgsProcessingAlgorithm.FlagHideFromToolbox
    names = [p.name() for p in algorithm.parameterDefinitions()]
    assert names[:2] == ["VIDEO", "TELEMETRY"] and "DEM" in names and "OUTPUT" in names
    assert {o.name() for o in algorithm.outputDefinitions()} >= {"OUTPUT", "FRAMES_TRACKED", "STATUS"}
