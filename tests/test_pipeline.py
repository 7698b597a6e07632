"""The whole tracking job on real parts: simulated MPEG-TS + telemetry, a real TorchScript SiamMask,
the real camera model, a GeoPackage read back; cancel, callback failures and bad inputs."""
from __future__ import annotations

from pathlib import Path

import pytest

from qgis_siammask.core import definitions as d
from qgis_siammask.core.pipeline import TrackingJob, run_tracking_job


def test_unwritable_output_fails_before_any_input_is_opened(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    job = TrackingJob(
        video_path=str(tmp_path / "missing.ts"),
        model_path=str(tmp_path / "missing.pt"),
        output_gpkg=str(blocker / "tracks.gpkg"),
        boxes_xywh=((10.0, 10.0, 20.0, 20.0),),
    )
    result = run_tracking_job(job, on_frame=pytest.fail)
    assert result.status == d.JOB_FAILED and result.frames_tracked == 0
    # the output is checked first: the missing video and model are not even looked at
    assert str(blocker / "tracks.gpkg") in result.message and "missing" not in result.message
    assert not Path(job.output_gpkg).exists()
