"""The Processing algorithm "Track objects in video" through processing.run, as batch mode and models
call it: a GeoPackage that reads back, and clear errors for bad boxes."""

from __future__ import annotations

import sys
from pathlib import Path

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
            "GEOREF": 1,  # horizon-level gimbal
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
    # QGIS loads them (as after a run from the Toolbox): one group named after the run, styled as the dock
    from processing.gui.Postprocessing import handleAlgorithmResults

    root = QgsProject.instance().layerTreeRoot()
    before, layers_before = len(root.children()), len(QgsProject.instance().mapLayers())
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("siammask:trackobjectsinvideo")
    assert handleAlgorithmResults(algorithm, context)
    assert len(root.children()) == before + 1  # nothing ungrouped
    nodes = {node.layer().name(): node for node in root.findGroup("tracks").findLayers()}
    assert sorted(nodes) == sorted(["masks", "boxes", "points", "lines", "footprints"])
    assert all(node.layer().source().startswith(str(output)) for node in nodes.values())
    assert not nodes["footprints"].itemVisibilityChecked() and nodes["points"].itemVisibilityChecked()
    points_renderer = nodes["points"].layer().renderer()
    assert points_renderer.type() == "categorizedSymbol" and len(points_renderer.categories()) == 2
    assert len(QgsProject.instance().mapLayers()) == layers_before + 5  # QGIS's plain copies gone
    QgsProject.instance().clear()
    assert outputs["FRAMES_TRACKED"] == 6
    assert outputs["OUTPUT"] == str(output)
    points = QgsVectorLayer(f"{output}|layername=points", "points", "ogr")
    assert points.isValid() and points.featureCount() == 12
    assert {f["label"] for f in points.getFeatures()} == {"truck", "car"}
    assert QgsVectorLayer(f"{output}|layername=lines", "lines", "ogr").featureCount() == 2
    assert {f["frame"] for f in points.getFeatures()} == set(range(6))
    footprints = QgsVectorLayer(f"{output}|layername=footprints", "footprints", "ogr")
    assert {f["georef"] for f in footprints.getFeatures()} == {"horizon"}


def test_georeferencing_defaults_to_the_projects_choice(processing_ready):
    from qgis.core import QgsProject

    registry = QgsApplication.processingRegistry()
    algorithm = registry.createAlgorithmById("siammask:trackobjectsinvideo")  # kept: it owns its parameters
    assert algorithm.parameterDefinition("GEOREF").defaultValue() == 0  # ST 0601
    QgsProject.instance().writeEntry("qgis_siammask", "georef", "corners")
    algorithm = registry.createAlgorithmById("siammask:trackobjectsinvideo")  # as a dialog opened now
    parameter = algorithm.parameterDefinition("GEOREF")
    assert parameter.defaultValue() == 2 and parameter.options()[2] == "Reported corners"
    QgsProject.instance().clear()


def test_default_output_in_the_projects_folder(processing_ready, tmp_path):
    from qgis.core import QgsProject

    registry = QgsApplication.processingRegistry()
    algorithm = registry.createAlgorithmById("siammask:trackobjectsinvideo")
    assert algorithm.parameterDefinition("OUTPUT").defaultValue() in (None, "")  # a temporary file
    QgsProject.instance().writeEntry("qgis_siammask", "output_folder", str(tmp_path / "runs"))
    algorithm = registry.createAlgorithmById("siammask:trackobjectsinvideo")  # as a dialog opened now
    default = Path(algorithm.parameterDefinition("OUTPUT").defaultValue())
    assert default.parent == tmp_path / "runs" and default.name.startswith("tracks_")
    QgsProject.instance().clear()


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
