"""A failed command never destroys earlier results: the atomic output helper and the `track` command."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from qgis_siammask.core.cli import attach_number_lists, main
from qgis_siammask.core.errors import OutputError
from qgis_siammask.core.files import atomic_output, copy_database, partial_path

EARLIER = b'{"frame": 0, "note": "an earlier run"}\n'


def test_success_replaces_the_target(tmp_path):
    target = tmp_path / "out.jsonl"
    target.write_bytes(EARLIER)
    partial_path(target).write_bytes(b"left by a killed run")
    with atomic_output(target) as partial:
        assert partial == tmp_path / "out.partial.jsonl" and not partial.exists()
        partial.write_text("new\n")
        assert target.read_bytes() == EARLIER  # untouched until the work is finished
    assert target.read_text() == "new\n" and not partial.exists()


@pytest.mark.parametrize("keep, written, kept", [(False, b"half", False), (True, b"half", True), (True, b"", False)])
def test_failure_leaves_the_target_and_keeps_a_partial_file_only_when_asked_and_not_empty(
        tmp_path, keep, written, kept):
    target = tmp_path / "out.jsonl"
    target.write_bytes(EARLIER)
    with pytest.raises(KeyboardInterrupt), atomic_output(target, keep_on_failure=keep) as partial:
        partial.write_bytes(written)
        raise KeyboardInterrupt
    assert target.read_bytes() == EARLIER
    assert partial.exists() == kept


def test_a_database_copy_keeps_what_another_connection_left_in_the_wal(tmp_path):
    """QGIS keeps a run's GeoPackage open in WAL mode: a track it deleted is still in the -wal file, which a
    plain file copy misses (checked below) and the database copy carries."""
    import shutil
    import sqlite3

    source = tmp_path / "run.gpkg"
    holder = sqlite3.connect(source)  # stays open, as QGIS's layers do: no checkpoint on close
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("CREATE TABLE points (track_id INTEGER)")
    holder.executemany("INSERT INTO points VALUES (?)", [(1,), (2,)])
    holder.commit()
    holder.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    holder.execute("DELETE FROM points WHERE track_id = 2")  # the analyst deletes track 2
    holder.commit()
    shutil.copyfile(source, tmp_path / "plain.gpkg")
    copy_database(source, tmp_path / "copy.gpkg")
    holder.close()

    def track_ids(path):
        with sqlite3.connect(path) as read:
            return sorted(row[0] for row in read.execute("SELECT track_id FROM points"))

    assert track_ids(tmp_path / "plain.gpkg") == [1, 2]  # what a file copy made of it
    assert track_ids(tmp_path / "copy.gpkg") == [1]
    (tmp_path / "broken.gpkg").write_bytes(b"not a database" * 100)
    with pytest.raises(OutputError, match="broken.gpkg"):
        copy_database(tmp_path / "broken.gpkg", tmp_path / "copy2.gpkg")


def test_negative_numbers_after_an_option_are_its_value():
    assert attach_number_lists(["track", "v", "--box", "-50,-50,30,30", "--box", "1,2,3,4", "--start-frame", "-5"]) \
        == ["track", "v", "--box=-50,-50,30,30", "--box", "1,2,3,4", "--start-frame", "-5"]


@pytest.fixture(scope="module")
def frames(tmp_path_factory) -> Path:
    """Four 160x120 frames with a bright square moving right on a dark textured ground."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for index in range(4):
        image = rng.integers(0, 60, (120, 160, 3), dtype=np.uint8)
        image[50:70, 40 + 3 * index:60 + 3 * index] = (40, 200, 230)
        cv2.imwrite(str(folder / f"{index:03d}.png"), image)
    return folder


@pytest.mark.parametrize("box, model", [("-50,-50,30,30", None), ("40,50,20,20", "missing.pt")])
def test_failed_track_leaves_an_existing_results_file_byte_identical(
    frames, default_model_path, tmp_path, capsys, box, model
):
    out = tmp_path / "results.jsonl"
    out.write_bytes(EARLIER)
    model_file = tmp_path / model if model else default_model_path
    code = main(["track", str(frames), "--model", str(model_file), "--box", box,
                 "--out", str(out), "--device", "cpu", "--threads", "1"])
    assert code == 2
    assert out.read_bytes() == EARLIER and sorted(p.name for p in tmp_path.iterdir()) == ["results.jsonl"]
    err = capsys.readouterr().err
    assert ("entirely outside" if model is None else "missing.pt") in err
    assert "\nerror: " in "\n" + err  # on a line of its own, not after the progress bar


def test_successful_track_replaces_the_results_file(frames, default_model_path, tmp_path):
    out = tmp_path / "results.jsonl"
    out.write_bytes(EARLIER)
    assert main(["track", str(frames), "--model", str(default_model_path), "--box", "40,50,20,20",
                 "--out", str(out), "--device", "cpu", "--threads", "1"]) == 0
    assert [line[:11] for line in out.read_text().splitlines()] == [f'{{"frame": {i}' for i in range(4)]
    assert not partial_path(out).exists()
