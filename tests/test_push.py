"""Pure parts of push: the run result (its URLs and its JSON report). The runs themselves are
tested against the real portal in tests/integration/test_push.py."""

from __future__ import annotations

from pathlib import Path

import publish
from publish.mapping import desired_state
from publish.plan import make_plan
from publish.push import Outcome, RunResult


def result_of_first_publish(catalogue_dir: Path) -> RunResult:
    desired = desired_state(publish.load_catalogue(catalogue_dir))
    plan = make_plan(desired, [], portal="http://127.0.0.1:5000", organization="digital-interkommunal", datastore=True)
    return RunResult(portal=plan.portal, plan=plan, outcomes=[Outcome(a, "done", a.detail) for a in plan.actions])


def test_each_dataset_url_is_listed_once(catalogue_dir: Path) -> None:
    result = result_of_first_publish(catalogue_dir)
    urls = result.dataset_urls()
    assert len(urls) == len(set(urls)) == 3
    assert all(url.startswith("http://127.0.0.1:5000/dataset/") for url in urls)


def test_the_json_report_has_the_documented_shape(catalogue_dir: Path) -> None:
    report = result_of_first_publish(catalogue_dir).to_dict()
    assert {"ok", "portal", "requests", "bytes_uploaded", "duration_s", "actions"} <= set(report)
    assert report["ok"] is True
    for action in report["actions"]:
        assert {"dataset", "resource", "action", "outcome", "detail"} <= set(action)
        assert action["action"] in {"create", "update", "upload", "unchanged", "orphan", "delete", "datastore"}
        assert ("rows" in action) == (action["action"] == "datastore")
