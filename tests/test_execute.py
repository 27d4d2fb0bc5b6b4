"""The executor's own rules, on an in-memory double of the few CKAN actions it calls
(tests/portal_double.py): creating at most once, skipping after failures, releasing a new
dataset only when all its steps succeeded. CKAN's behaviour is tested against the real
portal in tests/integration."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import publish
from publish.mapping import IDENTITY_FIELD, desired_state
from publish.plan import Plan, make_plan
from publish.push import RunResult, execute, plan_for
from tests.portal_double import PortalDouble


@pytest.fixture
def first_plan(catalogue_dir: Path) -> Any:
    desired = desired_state(publish.load_catalogue(catalogue_dir))

    def build(datastore: bool = False, current: list[dict[str, Any]] | None = None) -> Plan:
        return make_plan(
            desired, current or [], portal=PortalDouble.url, organization="org", datastore=datastore, prune=False
        )

    return build


def run(plan: Plan, portal: PortalDouble) -> RunResult:
    return execute(plan, portal)  # type: ignore[arg-type]  # the double has the parts execute uses


def outcomes(result: RunResult, dataset_suffix: str) -> list[tuple[str | None, str, str]]:
    return [
        (o.action.resource, o.action.kind, o.outcome)
        for o in result.outcomes
        if o.action.dataset.endswith(dataset_suffix)
    ]


def resource_keys(portal: PortalDouble, dataset_suffix: str) -> list[str]:
    (package,) = [p for name, p in portal.packages.items() if name.endswith(dataset_suffix)]
    return [r[IDENTITY_FIELD] for r in package["resources"]]


def test_a_clean_first_publish_makes_every_dataset_public(first_plan: Any) -> None:
    portal = PortalDouble()
    result = run(first_plan(), portal)
    assert result.ok
    assert all(p["private"] is False for p in portal.packages.values())


def test_a_failed_table_load_keeps_a_new_dataset_private(first_plan: Any) -> None:
    """Public only once its files AND tables are in (the double refuses every DataStore call)."""
    portal = PortalDouble()
    result = run(first_plan(datastore=True), portal)
    assert not result.ok
    release = [o for o in result.outcomes if o.action.release]
    assert release and all(o.outcome == "skipped" for o in release)
    assert all("table" in o.detail for o in release)
    assert all(p["private"] is True for p in portal.packages.values())


def test_a_refused_upload_skips_its_table_and_the_release_but_not_other_datasets(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.fail["resource_create"] = ["refuse"]  # the first dataset's only file
    result = run(first_plan(), portal)
    first = outcomes(result, "-partner")
    assert first == [(None, "create", "done"), ("partners", "create", "failed"), (None, "update", "skipped")]
    assert outcomes(result, "-phasen")[-1] == (None, "update", "done")
    assert portal.packages["digital-interkommunal-partner"]["private"] is True
    assert portal.packages["digital-interkommunal-phasen"]["private"] is False


def test_a_create_whose_answer_was_lost_is_adopted_not_repeated(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.fail["package_create"] = ["unclear"]
    portal.fail["resource_create"] = ["unclear"]
    result = run(first_plan(), portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]  # one copy
    assert portal.calls.count("package_create") == 3 and portal.calls.count("resource_create") == 4


def test_a_create_that_lands_during_the_grace_period_is_found_by_polling(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.fail["resource_create"] = ["late-3"]  # lands before the third call after it
    result = run(first_plan(), portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]
    assert portal.session.slept, "it waited before looking again"
    assert sum(portal.session.slept) <= portal.timeout[1]


def test_a_create_that_lands_after_the_copy_is_removed_by_the_same_run(first_plan: Any) -> None:
    portal = PortalDouble()
    # The original lands after the grace period, after the copy was made: two resources, one key.
    portal.fail["resource_create"] = ["late-9"]
    result = run(first_plan(), portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]
    assert any("duplicate" in note for note in result.notes)


def test_a_late_duplicate_left_behind_is_removed_by_the_next_plan(first_plan: Any) -> None:
    portal = PortalDouble()
    assert run(first_plan(), portal).ok
    package = portal.packages["digital-interkommunal-partner"]
    package["resources"].append({**package["resources"][0], "id": "res-late"})  # landed after the run ended
    current = [
        dict(p, extras=[{"key": "managed_by", "value": "kalletal-lemgo-publish"}]) for p in portal.packages.values()
    ]
    plan = first_plan(current=current)
    deletes = [a for a in plan.actions if a.kind == "delete"]
    assert [(a.resource_id, a.duplicate) for a in deletes] == [("res-late", True)]
    run(plan, portal)
    assert resource_keys(portal, "-partner") == ["partners"]


def test_a_package_create_that_landed_late_is_adopted_when_the_name_is_taken(first_plan: Any) -> None:
    portal = PortalDouble()
    # Lands after five looks (the grace period), just before the retry, which meets "already in use".
    portal.fail["package_create"] = ["late-6", None]
    result = run(first_plan(), portal)
    assert result.ok, [o.detail for o in result.failed]
    assert len([n for n in portal.packages if n.endswith("-partner")]) == 1
    assert portal.calls[:7] == ["package_create"] + ["package_show"] * 5 + ["package_create"]


def published(first_plan: Any) -> PortalDouble:
    portal = PortalDouble()
    assert run(first_plan(), portal).ok
    return portal


def test_an_update_after_a_concurrent_edit_is_recomputed_and_keeps_the_edit(catalogue_dir: Path) -> None:
    portal = PortalDouble()
    catalogue = publish.load_catalogue(catalogue_dir)
    assert publish.push(catalogue, portal, datastore=False, lock_dir=catalogue_dir / "locks").ok  # type: ignore[arg-type]
    descriptor = catalogue_dir / "datasets/phases/datapackage.json"
    descriptor.write_text(descriptor.read_text(encoding="utf-8").replace('"title": "', '"title": "Neu: ', 1))
    catalogue = publish.load_catalogue(catalogue_dir)
    plan, _ = plan_for(catalogue, portal, datastore=False)  # type: ignore[arg-type]
    (update,) = plan.writes
    # Someone edits the dataset on the portal after the plan was made: a hand-made extra.
    package = portal.packages[update.dataset]
    package["extras"] = [*package["extras"], {"key": "note_by_hand", "value": "bleibt"}]
    package["metadata_modified"] = "edited-by-hand"
    result = run(plan, portal)
    assert result.ok
    (outcome,) = [o for o in result.outcomes if o.action is update]
    assert "recomputed" in outcome.detail
    assert package["title"].startswith("Neu: ")
    assert {"key": "note_by_hand", "value": "bleibt"} in package["extras"]
    assert portal.calls.count("package_revise") == 2  # refused once (conflict), then sent again


def test_max_deletes_stops_a_prune_before_anything_is_written(catalogue_dir: Path) -> None:
    portal = PortalDouble()
    catalogue = publish.load_catalogue(catalogue_dir)
    assert publish.push(catalogue, portal, datastore=False, lock_dir=catalogue_dir / "locks").ok  # type: ignore[arg-type]
    # A dataset this tool published that the catalogue no longer has: a prune would delete it.
    old = copy.deepcopy(portal.packages["digital-interkommunal-phasen"])
    portal.packages["digital-interkommunal-alt"] = {**old, "name": "digital-interkommunal-alt", "id": "pkg-old"}
    before = copy.deepcopy(portal.packages)
    calls = len(portal.calls)
    with pytest.raises(publish.TooManyDeletesError, match="more than --max-deletes 0"):
        publish.push(catalogue, portal, prune=True, max_deletes=0, datastore=False, lock_dir=catalogue_dir / "l")  # type: ignore[arg-type]
    assert portal.packages == before
    assert portal.calls[calls:] == ["organization_list_for_user", "license_list", "package_search"]
    result = publish.push(catalogue, portal, prune=True, max_deletes=1, datastore=False, lock_dir=catalogue_dir / "l")  # type: ignore[arg-type]
    assert result.ok and portal.packages["digital-interkommunal-alt"]["state"] == "deleted"
    assert portal.packages["digital-interkommunal-phasen"]["state"] == "active"
