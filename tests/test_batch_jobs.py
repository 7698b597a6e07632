"""Batch job files (JSON lines and CSV) -> frozen BatchJobs; bad lines are refused naming file and line."""

from __future__ import annotations

import json

import pytest

from qgis_siammask.core.batch.jobs import BatchJob, read_jobs
from qgis_siammask.core.errors import InputFileError


def _write_jsonl(path, entries):
    path.write_text("\n".join(e if isinstance(e, str) else json.dumps(e) for e in entries) + "\n")
    return path


def test_jsonl_jobs_with_defaults_and_paths_from_the_job_file(tmp_path):
    (tmp_path / "videos").mkdir()
    jobs = read_jobs(
        _write_jsonl(
            tmp_path / "jobs.jsonl",
            [
                "# mission 12",
                {"video": "videos/a.ts", "boxes": [[1, 2, 30, 40]]},
                "",
                {
                    "name": "b-car",
                    "video": "/data/b.mp4",
                    "telemetry": "b.srt",
                    "boxes": [[1, 2, 3, 4], [5, 6, 7, 8]],
                    "labels": ["car", "van"],
                    "start_frame": 5,
                    "end_frame": 9,
                    "dem": "dem.tif",
                    "georef": "horizon",
                },
            ],
        )
    )
    assert jobs[0] == BatchJob(
        name="a", video_path=str(tmp_path / "videos" / "a.ts"), boxes_xywh=((1.0, 2.0, 30.0, 40.0),)
    )
    assert jobs[1] == BatchJob(
        name="b-car",
        video_path="/data/b.mp4",
        boxes_xywh=((1.0, 2.0, 3.0, 4.0), (5.0, 6.0, 7.0, 8.0)),
        labels=("car", "van"),
        telemetry_path=str(tmp_path / "b.srt"),
        start_frame=5,
        end_frame=9,
        dem_path=str(tmp_path / "dem.tif"),
        georef="horizon",
    )


def test_csv_jobs_read_as_the_jsonl_ones(tmp_path):
    csv_path = tmp_path / "jobs.csv"
    csv_path.write_text(
        "video,boxes,labels,name,end_frame,telemetry,georef\n"
        'a.ts,"1,2,30,40",,,,,\n'
        'b.ts,"1,2,3,4;5,6,7,8",car;van,second,9,b.csv,corners\n'
    )
    jsonl = _write_jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"video": "a.ts", "boxes": [[1, 2, 30, 40]]},
            {
                "video": "b.ts",
                "boxes": [[1, 2, 3, 4], [5, 6, 7, 8]],
                "labels": ["car", "van"],
                "name": "second",
                "end_frame": 9,
                "telemetry": "b.csv",
                "georef": "corners",
            },
        ],
    )
    assert read_jobs(csv_path) == read_jobs(jsonl)


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ("{not json", "not a JSON object"),
        ('["a.ts"]', "expected a JSON object"),
        ({"boxes": [[1, 2, 3, 4]]}, "no 'video'"),
        ({"video": "a.ts"}, "'boxes'"),
        ({"video": "a.ts", "boxes": [[1, 2, 3]]}, "four numbers"),
        ({"video": "a.ts", "boxes": [[1, 2, 0, 4]]}, "positive"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "labels": ["a", "b"]}, "one label per box"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "start_frame": -1}, "start_frame"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "start_frame": 1.5}, "start_frame"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "start_frame": 9, "end_frame": 3}, "before start_frame"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "name": "../escape"}, "plain file name"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "fps": 25}, "unknown key(s) fps"),
        ({"video": "a.ts", "boxes": [[1, 2, 3, 4]], "georef": "tilted"}, "georef 'tilted' is not one of"),
    ],
)
def test_bad_lines_are_refused_naming_file_and_line(tmp_path, entry, expected):
    path = _write_jsonl(tmp_path / "jobs.jsonl", [{"video": "ok.ts", "boxes": [[1, 2, 3, 4]]}, entry])
    with pytest.raises(InputFileError, match="line 2") as caught:
        read_jobs(path)
    assert str(path) in caught.value.user_message and expected in caught.value.user_message


def test_the_job_record_names_the_georeferencing_so_a_rerun_in_another_mode_redoes_the_job(tmp_path):
    import dataclasses

    from qgis_siammask.core.batch.runner import BatchSettings, job_record

    job = read_jobs(_write_jsonl(tmp_path / "jobs.jsonl", [{"video": "a.ts", "boxes": [[1, 2, 3, 4]]}]))[0]
    settings = BatchSettings(out_dir=str(tmp_path), model_path="model.pt")
    assert job_record(job, settings)["georef"] == "st0601"
    assert job_record(dataclasses.replace(job, georef="horizon"), settings)["georef"] == "horizon"


def test_two_jobs_writing_the_same_geopackage_are_refused(tmp_path):
    path = _write_jsonl(
        tmp_path / "jobs.jsonl",
        [
            {"video": "day1/clip.ts", "boxes": [[1, 2, 3, 4]]},
            {"video": "day2/clip.ts", "boxes": [[1, 2, 3, 4]]},
        ],
    )
    with pytest.raises(InputFileError, match="line 2: job name 'clip' is already used on line 1"):
        read_jobs(path)


def test_empty_unknown_column_and_missing_job_files(tmp_path):
    with pytest.raises(InputFileError, match="lists no job"):
        read_jobs(_write_jsonl(tmp_path / "empty.jsonl", ["# nothing yet"]))
    (tmp_path / "bad.csv").write_text("video,box\na.ts,1\n")
    with pytest.raises(InputFileError, match="unknown column"):
        read_jobs(tmp_path / "bad.csv")
    with pytest.raises(InputFileError, match="cannot read the job file"):
        read_jobs(tmp_path / "missing.jsonl")


def test_local_cluster_sizing(monkeypatch):
    import torch

    from qgis_siammask.core.batch.runner import local_cluster_size

    monkeypatch.setattr("os.cpu_count", lambda: 16)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert local_cluster_size(None, "auto", jobs=100) == (16, 1)  # one worker per core
    assert local_cluster_size(None, "auto", jobs=3) == (3, 5)  # never more workers than jobs
    assert local_cluster_size(4, "auto", jobs=100) == (4, 4)  # the cores shared among the workers
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert local_cluster_size(None, "auto", jobs=100) == (2, 8)  # one worker per GPU
    assert local_cluster_size(None, "cpu", jobs=100) == (16, 1)  # GPUs ignored when the CPU is asked for
