"""Fuzz: mutated, generated and extreme KLV, and corrupt outer lengths in KLV streams, never crash, hang
or desync (the fast subset of `make fuzz`; the cases and their checks are in benchmarks/fuzz_klv.py)."""
from __future__ import annotations

from benchmarks.fuzz_klv import CLASSES, run_fuzz

CASES = 7_000


def test_fuzz_subset_has_no_uncaught_exception_broken_invariant_or_hang(tmp_path):
    report = run_fuzz(CASES, seed=1, workdir=tmp_path)
    assert report.failures == []
    reached = set(CLASSES) - ({"ts_corrupt_length"} if report.cases["ts_corrupt_length"] == 0 else set())
    assert set(report.cases) == reached and min(report.cases.values()) >= 50
    assert sum(report.cases.values()) == CASES
