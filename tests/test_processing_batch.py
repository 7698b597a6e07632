"""Batch work in QGIS Processing, headless: the "Batch track videos (Dask)" algorithm over a job file
through processing.run, and the "Track objects in video" algorithm in QGIS's own batch mode (the batch
dialog filled from a saved batch file and run with its Run button)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
from pathlib import Path

import pytest
from qgis.core import QgsApplication, QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtTest import QTest
from test_batch_dask import simulated_job
from test_plugin_support import simulated_clip, tracking_model
from test_processing_track import processing_ready  # noqa: F401 (fixture)

from qgis_siammask.core import definitions as d


def test_batch_algorithm_tracks_a_job_file_then_skips_it(processing_ready, tmp_path):  # noqa: F811
    pytest.importorskip("distributed", reason="batch tracking needs dask[distributed]")
    import processing

    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(simulated_job(tmp_path / f"clip{s}", s, 6)) + "\n" for s in (5, 6)))
    parameters = {
        "JOBS": str(jobs),
        "WORKERS": 2,
        "DEVICE": 2,
        "OUTPUT": str(tmp_path / "out"),
    }  # DEVICE 2: cpu

    outputs = processing.run("siammask:batchtrackvideos", parameters)

    assert (outputs["DONE"], outputs["FAILED"], outputs["SKIPPED"]) == (2, 0, 0)
    assert outputs["SUMMARY"] == str(tmp_path / "out" / d.BATCH_SUMMARY_FILE)
    with open(outputs["SUMMARY"], newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert [(r["name"], r["status"], r["frames_tracked"]) for r in rows] == [
        ("clip5", "done", "6"),
        ("clip6", "done", "6"),
    ]
    for name in ("clip5", "clip6"):
        points = QgsVectorLayer(f"{tmp_path / 'out' / name}.gpkg|layername=points", "points", "ogr")
        assert points.isValid() and points.featureCount() == 6
        del points

    again = processing.run("siammask:batchtrackvideos", parameters)
    assert (again["DONE"], again["FAILED"], again["SKIPPED"]) == (0, 0, 2)


def test_track_algorithm_in_the_batch_dialog(
    processing_ready,  # noqa: F811
    tmp_path_factory,
    tmp_path,
    request,
    qtbot,
    monkeypatch,
):
    from processing.gui import BatchPanel
    from processing.gui.BatchAlgorithmDialog import BatchAlgorithmDialog

    clip, targets = simulated_clip(tmp_path_factory.getbasetemp(), 10)
    # QGIS 3.40's batch file holds plain values and a format tag; the older list of Python literals
    # would stop 3.40 at a modal "Security warning" (trusted source?)
    current_format = getattr(BatchPanel.BatchPanel, "CURRENT_FORMAT", None)
    literal = str if current_format else repr
    rows = []
    for index, (_, box) in enumerate(targets[:2]):  # one row per vehicle, as an analyst would batch them
        rows.append(
            {
                "PARAMETERS": {
                    "VIDEO": literal(str(clip.video_path)),
                    "MODEL": literal(tracking_model(request)),
                    "START_FRAME": "0",
                    "END_FRAME": str(3 + index),
                    "BOXES": literal(",".join(map(str, box))),
                    "LABELS": literal(f"vehicle {index}"),
                    "DEVICE": "2",
                },
                "OUTPUTS": {"OUTPUT": str(tmp_path / f"row{index}.gpkg")},
            }
        )
    saved_batch = tmp_path / "rows.json"
    saved_batch.write_text(json.dumps({"format": current_format, "rows": rows} if current_format else rows))
    monkeypatch.setattr(
        BatchPanel.QFileDialog, "getOpenFileName", lambda *args, **kwargs: (str(saved_batch), "")
    )

    algorithm = QgsApplication.processingRegistry().createAlgorithmById("siammask:trackobjectsinvideo")
    dialog = BatchAlgorithmDialog(algorithm)
    qtbot.addWidget(dialog)
    dialog.show()
    panel = dialog.mainWidget()
    QTest.mouseClick(panel.btnOpen, Qt.LeftButton)  # "Open" a saved batch: two rows
    assert panel.batchRowCount() == 2
    if panel.checkLoadLayersOnCompletion.isChecked():
        QTest.mouseClick(panel.checkLoadLayersOnCompletion, Qt.LeftButton)
    QTest.mouseClick(dialog.runButton(), Qt.LeftButton)  # runs the rows one after the other
    outputs = [tmp_path / f"row{index}.gpkg" for index in range(2)]  # renamed into place when complete
    qtbot.waitUntil(lambda: all(path.is_file() for path in outputs), timeout=180000)  # 3.40: in tasks

    for index in range(2):
        points = QgsVectorLayer(f"{tmp_path / f'row{index}.gpkg'}|layername=points", "points", "ogr")
        assert points.isValid() and sorted(f["frame"] for f in points.getFeatures()) == list(range(4 + index))
        assert {f["label"] for f in points.getFeatures()} == {f"vehicle {index}"}
        del points


def test_without_dask_the_plugin_loads_and_the_batch_algorithm_names_the_install():
    from test_plugin_deps import _run

    out = _run(
        """
        import sys, json
        sys.modules["distributed"] = None  # hide Dask
        sys.path.insert(0, "tests")
        sys.path.append("/usr/share/qgis/python/plugins")
        from qgis.testing import start_app
        from test_plugin_support import StubInterface
        app = start_app()
        iface = StubInterface()
        import qgis_siammask
        plugin = qgis_siammask.classFactory(iface)
        plugin.initGui()
        from processing.core.Processing import Processing
        Processing.initialize()
        import processing
        from qgis.core import QgsProcessingException
        try:
            processing.run("siammask:batchtrackvideos", {"JOBS": "jobs.jsonl", "OUTPUT": "/tmp/never"})
            error = ""
        except QgsProcessingException as raised:
            error = str(raised)
        print(json.dumps({"messages": iface.messages, "error": error}))
        plugin.unload()
        """
    )
    assert out["messages"] == []  # Dask is optional: nothing to announce at start-up
    assert "distributed (missing)" in out["error"] and "dask[distributed]" in out["error"]
    assert "deps install --target" in out["error"] and "siammask/python/py3" in out["error"]
    assert out["error"].rstrip().endswith("--with-batch")


def test_batch_algorithm_in_qgis_starts_its_workers_with_qgis_python(
    processing_ready, tmp_path, monkeypatch, qtbot  # noqa: F811
):
    """Inside QGIS sys.executable (and so multiprocessing's spawn) is the first `python3` on PATH, e.g.
    a pyenv shim of another Python, which cannot start a worker; the algorithm, run in a task as the
    Processing dialog runs it, must start its workers with the Python behind QGIS."""
    pytest.importorskip("distributed", reason="batch tracking needs dask[distributed]")
    from multiprocessing import spawn

    from qgis.core import QgsProcessingAlgRunnerTask, QgsProcessingContext, QgsProcessingFeedback

    shim = tmp_path / "pyenv" / "python3"
    shim.parent.mkdir()
    shim.write_text(f"#!/bin/sh\necho \"$@\" >> {tmp_path / 'shim_used'}\nexit 1\n")
    shim.chmod(0o755)
    monkeypatch.setattr("sys.executable", str(shim))  # what QGIS's embedded Python finds on PATH
    monkeypatch.setattr(spawn, "_python_exe", str(shim))
    jobs = tmp_path / "jobs.jsonl"
    jobs.write_text("".join(json.dumps(simulated_job(tmp_path / f"clip{s}", s, 4)) + "\n" for s in (7, 8)))
    out = tmp_path / "out"
    parameters = {"JOBS": str(jobs), "WORKERS": 1, "DEVICE": 2, "OUTPUT": str(out)}  # DEVICE 2: cpu
    algorithm = QgsApplication.processingRegistry().createAlgorithmById("siammask:batchtrackvideos")
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    task = QgsProcessingAlgRunnerTask(algorithm, parameters, context, feedback)
    outcome = {}
    task.executed.connect(lambda ok, results: outcome.update(ok=ok, results=results))
    QgsApplication.taskManager().addTask(task)
    qtbot.waitUntil(lambda: "ok" in outcome, timeout=240_000)

    assert not (tmp_path / "shim_used").exists()
    assert outcome["ok"] and (outcome["results"]["DONE"], outcome["results"]["FAILED"]) == (2, 0)
    for name in ("clip7", "clip8"):
        record = json.loads((out / f"{name}.job.json").read_text())
        assert Path(record["python"]).name.startswith("python") and record["python"] != str(shim)
        assert subprocess.run([record["python"], "-c", "import _csv, qgis.core"]).returncode == 0
    assert os.fsdecode(spawn.get_executable()) == str(shim)  # left as it was for other plugins


@pytest.mark.parametrize("algorithm_id", ["siammask:trackobjectsinvideo", "siammask:batchtrackvideos"])
def test_the_processing_dialog_needs_no_horizontal_scroll_bar(processing_ready, qtbot, algorithm_id):  # noqa: F811
    """The Processing dialog at its own size shows every parameter, file buttons included, without a
    horizontal scroll bar: the walk-through found them behind one (labels up to 80 characters long)."""
    from processing.gui.AlgorithmDialog import AlgorithmDialog
    from qgis.PyQt.QtWidgets import QScrollArea

    algorithm = QgsApplication.processingRegistry().createAlgorithmById(algorithm_id)
    dialog = AlgorithmDialog(algorithm, False, None)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    areas = [area for area in dialog.findChildren(QScrollArea) if area.isVisible()]
    assert areas
    qtbot.waitUntil(lambda: not any(area.horizontalScrollBar().isVisible() for area in areas), timeout=3000)
    assert all(area.widget().sizeHint().width() <= area.viewport().width() for area in areas)
    assert "Precision: fp32 is exact" in algorithm.shortHelpString()  # the details moved to the help
