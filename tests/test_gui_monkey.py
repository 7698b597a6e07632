"""The randomized GUI tester (tests/gui_monkey.py, tests/gui_monkey_campaign.py) in the suite: a short
seeded campaign on the real plugin finds nothing; its checks do see an exception, lost frames and a
GeoPackage changed behind the user's back; generation is seeded and shrinking finds a minimal sequence.
`make monkey` runs the long campaign."""

from __future__ import annotations

import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from gui_monkey_campaign import CLIP_FRAMES, KINDS, Campaign, generate, run_in_process, shrink, summarize

SHORT_CAMPAIGN = 12  # sequences of 15 actions


@contextmanager
def one_torch_thread():
    """The campaign tracks on one thread (the tiny clips go faster so on 2 shared cores)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def test_sequences_are_seeded_and_use_every_action():
    assert generate(5) == generate(5) and generate(5) != generate(6)
    assert len(generate(5, length=15)) == 15
    seen = {action[0] for seed in range(300) for action in generate(seed)}
    assert seen == set(KINDS)


def test_shrinking_keeps_only_the_actions_the_failure_needs():
    actions = [["wait", i] for i in range(20)]
    needed = (["wait", 3], ["wait", 11], ["wait", 17])
    calls = []

    def fails(candidate):
        calls.append(candidate)
        return all(action in candidate for action in needed)

    assert shrink(actions, fails, budget=200) == list(needed)
    assert len(calls) <= 200
    assert len(shrink(actions, fails, budget=3)) > 3  # a spent budget returns the shortest found so far


def test_a_short_seeded_campaign_finds_nothing(qgis_app, tmp_path):
    """12 sequences of 15 actions on the real plugin: no exception, crash, hang, lost frame or bad file;
    runs were started and some finished."""
    started = time.monotonic()
    with one_torch_thread():
        results = run_in_process(tmp_path, seed=2026, sequences=SHORT_CAMPAIGN, length=15)
    text, clean = summarize(results, time.monotonic() - started)
    assert clean, text
    runs = sum(sum(result["runs"].values()) for result in results)
    assert runs >= 4, text
    assert sum(result["runs"].get("success", 0) for result in results) >= 1, text


@pytest.fixture()
def campaign(qgis_app, tmp_path):
    with one_torch_thread():
        campaign = Campaign(tmp_path)
        yield campaign
        campaign.close()


def test_the_checks_see_an_exception_in_a_slot(campaign):
    from qgis.PyQt.QtCore import QTimer

    campaign.monkey.do_raise = lambda: QTimer.singleShot(0, lambda: 1 / 0)
    failures = campaign.monkey.run([["open", 0], ["raise"], ["wait", 20]])
    assert [(f.kind, f.action_index) for f in failures] == [("exception", 1)], failures
    assert failures[0].signature.startswith("exception: ZeroDivisionError at test_gui_monkey.py")


def test_the_checks_see_frames_lost_from_the_runs_file(campaign):
    """Points deleted from the run's file by something other than the user's Delete track: lost frames,
    and the track's count going down; the same run untouched passes."""
    from osgeo import ogr

    track = [["open", 0], ["box", 0.3, 0.3, 0.6, 0.7], ["track"], ["wait_run"]]
    assert campaign.monkey.run(track) == []
    assert campaign.monkey.run_statuses == {"success": 1}

    def lose_frames():
        gpkg = campaign.monkey.dock.runs.result_gpkg
        dataset = ogr.Open(str(gpkg), 1)
        dataset.ExecuteSQL("DELETE FROM points WHERE frame > 2")
        dataset = None

    campaign.monkey.do_lose_frames = lose_frames
    failures = campaign.monkey.run([*track, ["lose_frames"]])
    assert {f.kind for f in failures} == {"lost_frames", "counts_down"}, failures
    assert campaign.monkey.lost_frames == CLIP_FRAMES - 3  # frames 3.. of 0..CLIP_FRAMES-1
    assert Path(campaign.monkey.files and next(iter(campaign.monkey.files))).suffix == ".gpkg"


def test_the_issues_reproduction_replays_clean(campaign):
    """The issue's four actions, which this tester found again and shrank to the same four: open a clip,
    draw a box, Track, open another video while it runs (it raised IndexError on every batch of frames)."""
    actions = [["open", 0], ["box", 0.3, 0.3, 0.6, 0.7], ["track"], ["open", 1], ["wait_run"]]
    failures = campaign.monkey.run(actions)
    assert failures == [] and campaign.monkey.run_statuses == {"success": 1}
