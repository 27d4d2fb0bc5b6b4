"""benchmarks/goals.py: each goal's verdict from the figures its steps write (no portal, no run)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import goals


def figures(**changes: Any) -> dict[str, Any]:
    """Figures of a run that meets every goal of "Done when"; ``changes`` replace whole steps."""
    run = {"requests": 0, "up": 0, "down": 0, "error": None, "resources": None, "duplicates": None}
    base: dict[str, Any] = {
        "validation": [
            {
                "rows": 10_000,
                "invalid": False,
                "errors": 0,
                "frictionless_s": 0.5,
                "ours_s": 0.4,
                "equal": True,
                "frictionless_peak_mib": 100,
                "ours_peak_mib": 120,
            },
            {
                "rows": 1_000_000,
                "invalid": False,
                "errors": 0,
                "frictionless_s": 40.0,
                "ours_s": 2.0,
                "equal": True,
                "frictionless_peak_mib": 100,
                "ours_peak_mib": 200,
            },
            {
                "rows": 1_000_000,
                "invalid": True,
                "errors": 10_000,
                "frictionless_s": 41.0,
                "ours_s": 2.5,
                "equal": True,
                "frictionless_peak_mib": 100,
                "ours_peak_mib": 210,
            },
        ],
        "large_file": {
            "bytes": 2**30,
            "rows": 8_000_000,
            "keyed": True,
            "validation_peak_mib": 260,
            "push_peak_mib": 270,
            "rerun_peak_mib": 268,
        },
        "rerun": {
            "datasets": 50,
            "files": 3,
            "warm_s": [0.7, 0.6, 0.9],
            "requests": 3,
            "bytes_uploaded": 0,
            "cold_s": 6.0,
            "cold_requests": 3,
        },
        "peers": {
            "datasets": 50,
            "files": 3,
            "rows": 3000,
            "runs": [
                {**run, "tool": "ckanapi", "run": "first", "requests": 250, "seconds": 20.0},
                {**run, "tool": "publish", "run": "first", "requests": 103, "seconds": 11.0},
                {**run, "tool": "publish+DS", "run": "first", "requests": 353, "seconds": 90.0},
            ],
        },
        "datastore_load": {"rows": 1_000_000, "load_s": 125.0, "push_s": 140.0, "requests": 9, "verified": "ok"},
    }
    return base | changes


def verdict(found: list[goals.Goal], start: str) -> goals.Goal:
    (goal,) = [g for g in found if g.goal.startswith(start)]
    return goal


def test_a_run_meeting_every_goal_is_met_everywhere_but_the_record() -> None:
    found = goals.verdicts(figures())
    assert [g.met for g in found if g.done_when] == [True] * 9
    assert verdict(found, "validation of 1,000,000 rows (valid)").measured.startswith("20.0×")
    assert verdict(found, "≤ 3 requests per new DataStore table").measured.startswith("1.67 ")
    assert verdict(found, "an unchanged rerun").measured.startswith("0.70 s (median of 3")
    record = verdict(found, "DataStore load ≥ 30,000 rows/s")
    assert (record.met, record.done_when, record.measured) == (False, False, "8,000 rows/s (125.0 s)")


def test_each_miss_is_a_miss() -> None:
    validation = figures()["validation"]
    slow = [{**v, "ours_s": 5.0} if v["rows"] == 1_000_000 and v["invalid"] else v for v in validation]
    assert verdict(goals.verdicts(figures(validation=slow)), "validation of 1,000,000 rows (1 % bad").met is False
    different = [{**v, "equal": v["rows"] != 1_000_000 or v["invalid"]} for v in validation]
    assert verdict(goals.verdicts(figures(validation=different)), "the same error lists").met is False
    large = figures()["large_file"] | {"rerun_peak_mib": 360}  # 377 MB: 105 MB above 272 MB
    assert verdict(goals.verdicts(figures(large_file=large)), "its push").met is False
    big = figures()["large_file"] | {"validation_peak_mib": 290}  # 304 MB
    assert verdict(goals.verdicts(figures(large_file=big)), "a 1 GiB table").met is False
    four = figures()["rerun"] | {"requests": 4}
    assert verdict(goals.verdicts(figures(rerun=four)), "an unchanged rerun").met is False
    slow_rerun = figures()["rerun"] | {"warm_s": [0.9, 1.1, 1.2]}
    assert verdict(goals.verdicts(figures(rerun=slow_rerun)), "an unchanged rerun").met is False
    peers = figures()["peers"]
    slower = {**peers, "runs": [{**r, "seconds": 15.1} if r["tool"] == "publish" else r for r in peers["runs"]]}
    assert verdict(goals.verdicts(figures(peers=slower)), "first publish").met is False
    chatty = {**peers, "runs": [{**r, "requests": 604} if r["tool"] == "publish+DS" else r for r in peers["runs"]]}
    assert verdict(goals.verdicts(figures(peers=chatty)), "≤ 3 requests per new DataStore table").met is False


def test_a_step_not_run_or_failed_is_no_verdict() -> None:
    peers = figures()["peers"]
    failed = {**peers, "runs": [{**r, "error": "exit 1"} if r["tool"] == "ckanapi" else r for r in peers["runs"]]}
    found = goals.verdicts({"peers": failed})
    assert verdict(found, "first publish").met is None
    assert verdict(found, "validation of").measured == "not run"
    assert all(g.met is None for g in found if not g.goal.startswith("≤ 3 requests"))
    assert "| NO (for the record) |" in goals.table(goals.verdicts(figures()))
