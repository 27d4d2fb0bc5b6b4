"""The executor's own rules, on an in-memory double of the few CKAN actions it calls
(tests/portal_double.py): creating at most once, skipping after failures, releasing a new
dataset only when all its steps succeeded. CKAN's behaviour is tested against the real
portal in tests/integration."""

from __future__ import annotations

import copy
import threading
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
    portal.fail["package_revise"] = ["refuse"]  # the first dataset's only file (with its release)
    result = run(first_plan(), portal)
    first = outcomes(result, "-partner")
    assert first == [(None, "create", "done"), ("partners", "create", "failed"), (None, "update", "skipped")]
    assert outcomes(result, "-phasen")[-1] == (None, "update", "done")
    assert portal.packages["digital-interkommunal-partner"]["private"] is True
    assert portal.packages["digital-interkommunal-phasen"]["private"] is False


def test_a_create_whose_answer_was_lost_is_adopted_not_repeated(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.fail["package_create"] = ["unclear"]
    portal.fail["package_revise"] = ["unclear"]  # the first dataset's files and release
    result = run(first_plan(), portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]  # one copy
    assert portal.packages["digital-interkommunal-partner"]["private"] is False
    # One request per new dataset for its files (and release), the lost one not sent again.
    assert portal.calls.count("package_create") == 3 and portal.calls.count("package_revise") == 3
    assert "resource_create" not in portal.calls and "package_patch" not in portal.calls


def test_a_new_datasets_files_go_in_one_request_with_its_release(first_plan: Any) -> None:
    portal = PortalDouble()
    plan = first_plan()
    result = run(plan, portal)
    assert result.ok
    writes = [c for c in portal.calls if c != "package_show"]
    assert writes == ["package_create", "package_revise"] * 3
    for package in portal.packages.values():
        assert package["private"] is False
        assert all(r["size"] > 0 and r["url_type"] == "upload" for r in package["resources"])
    # Resources in catalogue order, each created once; the report names every one of them.
    expected = [a.resource for a in plan.actions if a.kind == "create" and a.resource]
    assert [r[IDENTITY_FIELD] for p in portal.packages.values() for r in p["resources"]] == expected
    created = [o for o in result.outcomes if o.action.kind == "create" and o.action.resource]
    assert all(o.outcome == "done" and o.detail.startswith("created resource res-") for o in created)


def test_a_revise_that_lands_late_is_adopted_and_not_sent_again(first_plan: Any) -> None:
    """The answer is lost and the request lands later: CKAN's match on metadata_modified lets
    only one of the original and the retry through, so the files are there once."""
    portal = PortalDouble()
    portal.fail["package_revise"] = ["late-2"]  # lands just before the retry
    result = run(first_plan(), portal)
    assert result.ok, [o.detail for o in result.failed]
    assert resource_keys(portal, "-partner") == ["partners"]
    assert portal.packages["digital-interkommunal-partner"]["private"] is False


def test_a_big_file_goes_in_a_request_of_its_own(first_plan: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.setattr(importlib.import_module("publish.push"), "BATCH_BYTES", 1)  # every file is "big"
    portal = PortalDouble()
    portal.refuse = lambda name, data: (
        name == "package_revise"
        and any(  # the projects' second file
            r.get(IDENTITY_FIELD) == "project_partners" for r in data.get("update__resources__extend", [])
        )
    )
    result = run(first_plan(), portal)
    projects = outcomes(result, "-projekte")
    assert [state for _, _, state in projects] == ["done", "done", "failed", "skipped"]
    assert resource_keys(portal, "-projekte") == ["projects"]
    assert portal.packages["digital-interkommunal-projekte"]["private"] is True
    assert portal.packages["digital-interkommunal-phasen"]["private"] is False


def missing_a_file(first_plan: Any) -> tuple[PortalDouble, Plan]:
    """Published, then the first dataset's only resource gone from the portal: the plan adds it
    to the existing dataset."""
    portal = published(first_plan)
    portal.packages["digital-interkommunal-partner"]["resources"] = []
    current = [
        dict(p, extras=[{"key": "managed_by", "value": "kalletal-lemgo-publish"}]) for p in portal.packages.values()
    ]
    portal.calls.clear()  # from here on: this run's requests only
    portal.trace.clear()
    return portal, first_plan(current=current)


def partner_file(plan: Plan) -> dict[str, Any]:
    """The partners resource as a create of the plan would leave it on the portal."""
    (create,) = [a for a in plan.actions if a.kind == "create" and a.resource == "partners"]
    return {**create.payload, "id": "res-late", "url_type": "upload"}


def test_a_file_added_to_an_existing_dataset_goes_in_one_conditional_revise(first_plan: Any) -> None:
    portal, plan = missing_a_file(first_plan)
    package = portal.packages["digital-interkommunal-partner"]
    creates: list[tuple[Any, Any, list[str]]] = []  # (version matched, version on the portal, resources)

    def watch(name: str, data: dict[str, Any]) -> bool:
        if name == "package_revise" and "update__resources__extend" in data:
            added = [r[IDENTITY_FIELD] for r in data["update__resources__extend"]]
            creates.append((data["match__metadata_modified"], package["metadata_modified"], added))
        return False

    portal.refuse = watch
    result = run(plan, portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]
    assert "resource_create" not in portal.calls
    # one request, valid only for the dataset as it is when the request arrives
    ((matched, current, added),) = creates
    assert matched == current and matched is not None
    assert added == ["partners"]


@pytest.mark.parametrize("mode", ["unclear", "lost", *(f"late-{n}" for n in range(1, 7))])
def test_a_create_in_an_existing_dataset_whose_answer_was_lost_lands_once(first_plan: Any, mode: str) -> None:
    """Applied or not, now or later (before or after the retry): one copy, never two."""
    portal, plan = missing_a_file(first_plan)
    portal.fail["package_revise"] = [mode]
    result = run(plan, portal)
    assert result.ok, [o.detail for o in result.failed]
    for _ in range(8):  # any request still held lands
        portal.find_package("digital-interkommunal-partner")
    assert resource_keys(portal, "-partner") == ["partners"]


def test_a_late_request_of_a_killed_run_that_landed_after_the_plan_is_adopted(first_plan: Any) -> None:
    """A run killed while its create was in flight: the create lands after this run's plan was
    made. The dataset is read before the create: the resource is there, with this file: adopted."""
    portal, plan = missing_a_file(first_plan)
    portal.packages["digital-interkommunal-partner"]["resources"].append(partner_file(plan))
    result = run(plan, portal)
    assert result.ok
    assert resource_keys(portal, "-partner") == ["partners"]
    (created,) = [o for o in result.outcomes if o.action.kind == "create" and o.action.resource]
    assert created.detail.startswith("adopted resource res-late")
    assert not [name for name, data in portal.trace if name == "package_revise" and "update__resources__extend" in data]


def test_a_late_request_landing_just_before_the_create_makes_it_conflict_then_adopt(first_plan: Any) -> None:
    """The late request lands between this run's read of the dataset and its create: CKAN refuses
    the create (the dataset changed), the run reads again and adopts what landed."""
    portal, plan = missing_a_file(first_plan)
    late = partner_file(plan)

    def land_first(name: str, data: dict[str, Any]) -> bool:
        if name == "package_revise" and "update__resources__extend" in data and late is not None:
            package = portal.packages["digital-interkommunal-partner"]
            if not package["resources"]:
                package["resources"].append(late)
                portal._touch(package)
        return False

    portal.refuse = land_first
    result = run(plan, portal)
    assert result.ok, [o.detail for o in result.failed]
    assert resource_keys(portal, "-partner") == ["partners"]
    assert portal.packages["digital-interkommunal-partner"]["resources"][0]["id"] == "res-late"


def test_a_resource_that_appeared_with_another_file_stops_its_create(first_plan: Any) -> None:
    portal, plan = missing_a_file(first_plan)
    portal.packages["digital-interkommunal-partner"]["resources"].append({**partner_file(plan), "sha256": "0" * 64})
    result = run(plan, portal)
    assert not result.ok
    (failed,) = result.failed
    assert (failed.action.resource, failed.action.kind) == ("partners", "create")
    assert "appeared on the portal during the run with another file" in failed.detail
    assert resource_keys(portal, "-partner") == ["partners"]  # nothing added beside it


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


def test_the_kept_copy_of_a_late_duplicate_goes_back_to_its_place(first_plan: Any) -> None:
    portal = PortalDouble()
    assert run(first_plan(), portal).ok
    package = portal.packages["digital-interkommunal-projekte"]
    first = package["resources"][0]
    # A late copy of the first resource landed at the end, and it is the one with the loaded
    # table: the plan keeps it and deletes the earlier one, which would leave the order wrong.
    package["resources"].append({**first, "id": "res-late", "datastore_active": True})
    current = [
        dict(p, extras=[{"key": "managed_by", "value": "kalletal-lemgo-publish"}]) for p in portal.packages.values()
    ]
    plan = first_plan(current=current)
    assert [(a.resource_id, a.duplicate) for a in plan.actions if a.kind == "delete"] == [(first["id"], True)]
    result = run(plan, portal)
    assert result.ok
    assert resource_keys(portal, "-projekte") == ["projects", "project_partners"]
    assert portal.packages["digital-interkommunal-projekte"]["resources"][0]["id"] == "res-late"
    assert portal.calls.count("package_resource_reorder") == 1


def test_resources_already_in_order_are_not_reordered(first_plan: Any) -> None:
    portal, plan = missing_a_file(first_plan)
    portal.fail["package_revise"] = ["unclear"]
    assert run(plan, portal).ok
    assert resource_keys(portal, "-partner") == ["partners"]
    assert "package_resource_reorder" not in portal.calls


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
    before = portal.calls.count("package_revise")
    result = run(plan, portal)
    assert result.ok
    (outcome,) = [o for o in result.outcomes if o.action is update]
    assert "recomputed" in outcome.detail
    assert package["title"].startswith("Neu: ")
    assert {"key": "note_by_hand", "value": "bleibt"} in package["extras"]
    assert portal.calls.count("package_revise") - before == 2  # refused once (conflict), then sent again


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


# --- push --jobs: datasets in threads, each dataset's steps in order, outcomes in plan order


def _by_dataset(portal: PortalDouble) -> dict[str, list[str]]:
    """The calls that wrote, per dataset (by the package id or name they name), in applied order."""
    owner: dict[str, str] = {}
    for name, package in portal.packages.items():
        owner[package["id"]] = name
        owner.update({r["id"]: name for r in package["resources"]})
    calls: dict[str, list[str]] = {}
    for action, data in portal.trace:
        ref = data.get("package_id") or data.get("resource_id") or data.get("name") or data.get("id")
        if isinstance(data.get("package"), dict):
            ref = data["package"]["id"]
        if isinstance(data.get("match"), dict):
            ref = data["match"]["id"]
        ref = data.get("match__id", ref)
        if action != "package_show" and ref is not None:
            calls.setdefault(owner.get(ref, ref), []).append(action)
    return calls


def test_jobs_run_datasets_at_once_and_report_in_plan_order(first_plan: Any) -> None:
    plan = first_plan(datastore=True)
    one = PortalDouble()
    one.datastore = True
    sequential = execute(plan, one, jobs=1)  # type: ignore[arg-type]
    many = PortalDouble()
    many.datastore, many.delay = True, 0.02
    parallel = execute(plan, many, jobs=4)  # type: ignore[arg-type]
    assert parallel.ok and sequential.ok
    assert many.most_at_once >= 2, "datasets were written at once"
    assert one.most_at_once == 1
    # The same report, in plan order (not in the order the threads finished).
    assert [o.action for o in parallel.outcomes] == list(plan.actions)
    assert [(o.outcome, o.detail.split(" ")[0]) for o in parallel.outcomes] == [
        (o.outcome, o.detail.split(" ")[0]) for o in sequential.outcomes
    ]
    # Each dataset's own steps went out in the same order as one after the other.
    assert _by_dataset(many) == _by_dataset(one)
    assert all(p["private"] is False for p in many.packages.values())


def test_table_previews_are_added_once_per_dataset_after_its_tables(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.datastore = True
    plan = first_plan(datastore=True)
    assert execute(plan, portal, jobs=1).ok  # type: ignore[arg-type]
    for name, calls in _by_dataset(portal).items():
        tables = calls.count("datastore_create")
        assert tables >= 1
        assert calls.count("package_create_default_resource_views") == 1, name
        last_table = max(i for i, c in enumerate(calls) if c == "datastore_create")
        assert calls.index("package_create_default_resource_views") > last_table
        assert calls[-1] == "package_revise"  # the release (with the digests) comes last, after the previews
    views = [d for a, d in portal.trace if a == "package_create_default_resource_views"]
    assert all(r["datastore_active"] is True for d in views for r in d["package"]["resources"])


def test_with_jobs_a_failing_dataset_stops_only_itself(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.delay = 0.01
    partner = "digital-interkommunal-partner"
    portal.refuse = lambda name, data: (
        name == "package_revise" and data.get("match__id") == portal.packages[partner]["id"]
    )
    result = execute(first_plan(), portal, jobs=3)  # type: ignore[arg-type]
    assert not result.ok
    assert outcomes(result, "-partner") == [
        (None, "create", "done"),
        ("partners", "create", "failed"),
        (None, "update", "skipped"),
    ]
    others = [o for o in result.outcomes if not o.action.dataset.endswith("-partner")]
    assert others and all(o.outcome == "done" for o in others)
    assert portal.packages[partner]["private"] is True
    assert all(p["private"] is False for n, p in portal.packages.items() if n != partner)


def test_an_interrupt_with_jobs_starts_no_further_step(first_plan: Any) -> None:
    """Ctrl-C while datasets are written in threads: the run stops soon, it does not finish the plan."""
    portal = PortalDouble()
    creates = 0

    def interrupt(name: str, data: dict[str, Any]) -> bool:
        nonlocal creates
        if name == "package_revise":  # a new dataset's files
            creates += 1
            if creates == 1:
                raise KeyboardInterrupt
        return False

    portal.refuse = interrupt
    portal.delay = 0.05
    plan = first_plan()
    datasets = list(dict.fromkeys(a.dataset for a in plan.actions))
    assert len(datasets) == 3
    with pytest.raises(KeyboardInterrupt):
        execute(plan, portal, jobs=2)  # type: ignore[arg-type]
    for thread in threading.enumerate():  # let the other thread end the step it was in
        if thread.name.startswith("publish-dataset"):
            thread.join(timeout=10)
            assert not thread.is_alive()
    written = [a for a, _ in portal.trace if a != "package_show"]
    assert len(written) < len(plan.writes), written
    assert datasets[2] not in portal.packages, "the third dataset was never started"
    # A rerun converges: it completes what the interrupted run left.
    current = [
        dict(p, extras=[{"key": "managed_by", "value": "kalletal-lemgo-publish"}]) for p in portal.packages.values()
    ]
    portal.refuse = None
    assert execute(first_plan(current=current), portal, jobs=2).ok  # type: ignore[arg-type]
    assert all(p["private"] is False for p in portal.packages.values())


def test_with_jobs_an_exception_in_one_dataset_is_what_the_run_raises(first_plan: Any) -> None:
    """An exception that is not a failed step (a bug, a file gone) stops the other threads; the run
    raises that exception, not the interrupt the stopped threads saw (the CLI said "Aborted!")."""
    plan = first_plan()
    datasets = list(dict.fromkeys(a.dataset for a in plan.actions))
    last = datasets[-1]
    portal = PortalDouble()
    portal.delay = 0.05

    def broken(name: str, data: dict[str, Any]) -> bool:
        if name == "package_create" and data["name"] == last:
            raise OSError("the file is gone")
        return False

    portal.refuse = broken
    with pytest.raises(OSError, match="the file is gone"):
        execute(plan, portal, jobs=len(datasets))  # type: ignore[arg-type]


def test_the_command_line_default_of_jobs_is_the_librarys() -> None:
    import importlib

    from publish import cli

    assert cli.DEFAULT_JOBS == importlib.import_module("publish.push").DEFAULT_JOBS


def test_a_datasets_table_digests_are_recorded_in_one_request_after_its_tables(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.datastore = True
    plan = first_plan(datastore=True)
    assert execute(plan, portal, jobs=1).ok  # type: ignore[arg-type]
    assert "resource_patch" not in portal.calls
    for name, calls in _by_dataset(portal).items():
        # The digests go with the release, after the previews: one request for both.
        assert calls[-2:] == ["package_create_default_resource_views", "package_revise"], name
        assert "package_patch" not in calls
    digests = [r["datastore_digest"] for p in portal.packages.values() for r in p["resources"]]
    expected = [a.payload["digest"] for a in plan.actions if a.kind == "datastore"]
    assert sorted(digests) == sorted(expected)


def test_a_failed_load_keeps_the_others_recorded_and_the_dataset_private(first_plan: Any) -> None:
    portal = PortalDouble()
    portal.datastore = True
    plan = first_plan(datastore=True)
    (name,) = [n for n, ds in _tables_per_dataset(plan).items() if ds >= 2][:1]
    failing = [a.resource for a in plan.actions if a.kind == "datastore" and a.dataset == name][-1]

    def refuse(call: str, data: dict[str, Any]) -> bool:
        return call.startswith("datastore_") and _resource_key(portal, data["resource_id"]) == failing

    portal.refuse = refuse
    result = execute(plan, portal, jobs=1)  # type: ignore[arg-type]
    assert not result.ok
    package = portal.packages[name]
    assert package["private"] is True
    recorded = {r["datapackage_resource"]: r.get("datastore_digest") for r in package["resources"]}
    assert recorded[failing] is None
    assert all(d for k, d in recorded.items() if k != failing)


def _tables_per_dataset(plan: Plan) -> dict[str, int]:
    counts: dict[str, int] = {}
    for action in plan.actions:
        if action.kind == "datastore":
            counts[action.dataset] = counts.get(action.dataset, 0) + 1
    return counts


def _resource_key(portal: PortalDouble, resource_id: str) -> str:
    for package in portal.packages.values():
        for resource in package["resources"]:
            if resource["id"] == resource_id:
                return str(resource["datapackage_resource"])
    return ""
