"""Desired state × portal snapshot → Plan (pure; the snapshot is shaped like package_search results)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

import publish
from publish.datastore_schema import table_digest
from publish.mapping import MANAGED_BY, DesiredPackage, desired_state
from publish.plan import PlanConflictError, make_plan


def as_portal(packages: list[DesiredPackage]) -> list[dict[str, Any]]:
    """What CKAN would return after publishing ``packages`` faithfully."""
    result = []
    for n, p in enumerate(packages):
        pkg = {k: v for k, v in p.fields.items() if k not in ("tags", "extras")}
        pkg.update(
            id=f"pkg-{n}",
            state="active",
            tags=[{"name": t} for t in p.fields["tags"]],
            extras=[{"key": k, "value": v} for k, v in p.fields["extras"].items()],
            resources=[{**r.fields, "id": f"res-{n}-{i}", "url_type": "upload"} for i, r in enumerate(p.resources)],
        )
        result.append(pkg)
    return result


@pytest.fixture
def desired(catalogue_dir: Path) -> list[DesiredPackage]:
    return desired_state(publish.load_catalogue(catalogue_dir))


def plan(desired: list[DesiredPackage], current: list[dict[str, Any]], **kw: Any):
    """The plan without DataStore actions (those have tests of their own below)."""
    options = {"datastore": False, **kw}
    return make_plan(desired, current, portal="http://127.0.0.1:5000", organization="digital-interkommunal", **options)


def test_empty_portal_creates_everything(desired: list[DesiredPackage]) -> None:
    result = plan(desired, [])
    assert [(a.dataset[-8:], a.resource, a.kind) for a in result.actions] == [
        ("-partner", None, "create"),
        ("-partner", "partners", "create"),
        ("-partner", None, "update"),
        ("l-phasen", None, "create"),
        ("l-phasen", "phases", "create"),
        ("l-phasen", None, "update"),
        ("projekte", None, "create"),
        ("projekte", "projects", "create"),
        ("projekte", "project_partners", "create"),
        ("projekte", None, "update"),
    ]
    assert result.bytes_to_upload == sum(r.digest.size for p in desired for r in p.resources)
    assert result.actions[0].payload["tags"][0] == {"name": desired[0].fields["tags"][0]}


def test_a_new_dataset_is_private_until_its_last_action_makes_it_public(desired: list[DesiredPackage]) -> None:
    actions = [a for a in plan(desired, [], datastore=True).actions if a.dataset == desired[2].name]
    assert actions[0].kind == "create" and actions[0].payload["private"] is True
    assert actions[-1].release and actions[-1].payload == {"private": False}
    assert [a.release for a in actions].count(True) == 1


def test_a_dataset_left_private_by_a_failed_run_is_released_after_its_files(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[1].update(private=True, title="Alter Titel")
    del portal[1]["resources"][0]  # its upload failed
    actions = [a for a in plan(desired, portal).actions if a.dataset == desired[1].name]
    assert [(a.resource, a.kind, a.release) for a in actions] == [
        (None, "update", False),
        ("phases", "create", False),
        (None, "update", True),
    ]
    assert actions[0].changes == ("title",)  # fields first, the release last


def test_faithful_portal_is_all_unchanged(desired: list[DesiredPackage]) -> None:
    result = plan(desired, as_portal(desired))
    assert {a.kind for a in result.actions} == {"unchanged"}
    assert result.writes == [] and result.bytes_to_upload == 0
    assert result.summary() == "7 unchanged"


def test_ckan_normalisations_do_not_count_as_changes(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    for pkg in portal:
        pkg["extras"].reverse()
        pkg["tags"].reverse()
        pkg["notes"] = pkg["notes"]
        for res in pkg["resources"]:
            res["size"] = str(res["size"])  # CKAN may hand numbers back as strings
            res["last_modified"] = "2026-11-25T10:00:00"
    assert {a.kind for a in plan(desired, portal).actions} == {"unchanged"}


def test_changed_content_is_one_upload_to_the_same_resource(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[2]["resources"][0].update(sha256="0" * 64, hash="0" * 32)
    result = plan(desired, portal)
    (write,) = result.writes
    assert (write.kind, write.resource, write.resource_id) == ("upload", "projects", "res-2-0")
    assert write.payload["id"] == "res-2-0" and write.local is not None
    assert "sha256 000000000000 →" in write.detail


def test_digest_stored_the_old_way_is_one_field_update_per_resource_no_upload(desired: list[DesiredPackage]) -> None:
    # Before: ``hash`` held the sha256, named by the SPDX sha256 URI, and there was no ``sha256`` field.
    portal = as_portal(desired)
    for pkg, want in zip(portal, desired, strict=True):
        for res, local in zip(pkg["resources"], want.resources, strict=True):
            del res["sha256"]
            res.update(hash=local.digest.sha256, hash_algorithm="http://spdx.org/rdf/terms#checksumAlgorithm_sha256")
    result = plan(desired, portal)
    assert not [a for a in result.actions if a.kind == "upload"]
    writes = result.writes
    assert [(w.kind, w.resource) for w in writes] == [
        ("update", "partners"),
        ("update", "phases"),
        ("update", "projects"),
        ("update", "project_partners"),
    ]
    for write in writes:
        assert write.changes == ("hash", "hash_algorithm", "sha256")
        assert write.bytes == 0 and write.local is None
    # The same with a content change as well: that one is an upload.
    portal[1]["resources"][0]["hash"] = "0" * 64
    assert [(w.kind, w.resource) for w in plan(desired, portal).writes if w.kind == "upload"] == [("upload", "phases")]


def test_metadata_only_change_is_one_package_update(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[1]["title"] = "Alter Titel"
    (write,) = plan(desired, portal).writes
    assert (write.kind, write.resource, write.changes) == ("update", None, ("title",))
    assert write.payload == {"id": "pkg-1", "title": desired[1].fields["title"]}


def test_extras_update_keeps_extras_added_by_hand(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[0]["extras"] = [e for e in portal[0]["extras"] if e["key"] != "identifier"]
    portal[0]["extras"].append({"key": "note_by_hand", "value": "bleibt"})
    (write,) = plan(desired, portal).writes
    assert write.changes == ("extras",)
    keys = [e["key"] for e in write.payload["extras"]]
    assert "note_by_hand" in keys and "identifier" in keys


def test_resource_metadata_change_is_a_resource_update(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[0]["resources"][0]["description"] = "alt"
    (write,) = plan(desired, portal).writes
    assert (write.kind, write.resource, write.changes) == ("update", "partners", ("description",))
    assert write.bytes == 0


def test_orphans_are_reported_and_deleted_only_with_prune(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    gone = copy.deepcopy(portal[0])
    gone.update(id="pkg-old", name="digital-interkommunal-alt")
    by_hand = copy.deepcopy(portal[0])
    by_hand.update(id="pkg-hand", name="von-hand", extras=[])
    portal[2]["resources"].append({"id": "res-extra", "name": "Notizen", "url_type": "upload"})
    portal += [gone, by_hand]
    kinds = {(a.dataset, a.resource): a.kind for a in plan(desired, portal).actions if a.kind != "unchanged"}
    assert kinds == {
        ("digital-interkommunal-projekte", "Notizen"): "orphan",
        ("digital-interkommunal-alt", None): "orphan",
    }
    pruned = {(a.dataset, a.resource): a.kind for a in plan(desired, portal, prune=True).writes}
    assert pruned == {
        ("digital-interkommunal-projekte", "Notizen"): "delete",
        ("digital-interkommunal-alt", None): "delete",
    }


def test_a_package_made_by_hand_with_our_name_is_a_conflict(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[1]["extras"] = [e for e in portal[1]["extras"] if e["value"] != MANAGED_BY]
    with pytest.raises(PlanConflictError, match="digital-interkommunal-phasen"):
        plan(desired, portal)


def test_duplicate_resources_of_one_key_keep_the_first(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[0]["resources"].append({**portal[0]["resources"][0], "id": "res-dup"})
    result = plan(desired, portal, prune=True)
    (write,) = result.writes
    assert (write.kind, write.resource_id, write.duplicate) == ("delete", "res-dup", True)


def test_a_duplicate_of_our_resource_is_removed_without_prune(desired: list[DesiredPackage]) -> None:
    """A create that landed after the client gave up leaves a second copy: the next run removes it."""
    portal = as_portal(desired)
    portal[0]["resources"].append({**portal[0]["resources"][0], "id": "res-late"})
    result = plan(desired, portal)  # no --prune
    (write,) = result.writes
    assert (write.kind, write.resource_id) == ("delete", "res-late")
    assert "landed late" in write.detail
    assert not [a for a in result.actions if a.kind == "orphan"]


def test_of_two_copies_the_one_with_the_right_file_and_table_is_kept(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    first = portal[0]["resources"][0]
    stale = {**first, "id": "res-stale", "sha256": "0" * 64}
    loaded = {**first, "id": "res-loaded", "datastore_active": True}
    portal[0]["resources"] = [stale, first, loaded]
    result = plan(desired, portal)
    deleted = {a.resource_id for a in result.writes if a.kind == "delete"}
    assert deleted == {"res-stale", first["id"]}
    kept = next(a for a in result.actions if a.resource == first["datapackage_resource"] and a.kind != "delete")
    assert kept.resource_id == "res-loaded"


def test_plan_is_deterministic(desired: list[DesiredPackage]) -> None:
    portal = as_portal(desired)
    portal[2]["resources"][1]["hash"] = "x"
    assert plan(desired, portal) == plan(desired, copy.deepcopy(portal))


def with_tables(portal: list[dict[str, Any]], desired: list[DesiredPackage]) -> list[dict[str, Any]]:
    """The portal after DataStore loads: each resource knows which file and schema its table holds."""
    for pkg, want in zip(portal, desired, strict=True):
        for res, local in zip(pkg["resources"], want.resources, strict=True):
            res.update(datastore_active=True, datastore_digest=table_digest(local.digest.sha256, local.schema))
    return portal


def test_first_publish_loads_every_table_after_its_upload(desired: list[DesiredPackage]) -> None:
    actions = plan(desired, [], datastore=True).actions
    kinds = [(a.resource, a.kind) for a in actions if a.dataset.endswith("projekte")]
    assert kinds == [
        (None, "create"),
        ("projects", "create"),
        ("projects", "datastore"),
        ("project_partners", "create"),
        ("project_partners", "datastore"),
        (None, "update"),
    ]
    load = next(a for a in actions if a.kind == "datastore")
    assert load.datastore and load.payload["mode"] == "first-load" and "first load" in load.detail


def test_loaded_tables_are_unchanged(desired: list[DesiredPackage]) -> None:
    result = plan(desired, with_tables(as_portal(desired), desired), datastore=True)
    assert {a.kind for a in result.actions} == {"unchanged"}
    assert sum(a.datastore for a in result.actions) == 4


def test_changed_file_reloads_its_table_in_place(desired: list[DesiredPackage]) -> None:
    portal = with_tables(as_portal(desired), desired)
    portal[1]["resources"][0]["sha256"] = "0" * 64
    portal[1]["resources"][0]["datastore_digest"] = table_digest("0" * 64, desired[1].resources[0].schema)
    writes = plan(desired, portal, datastore=True).writes
    assert [(w.resource, w.kind) for w in writes] == [("phases", "upload"), ("phases", "datastore")]
    assert "in place" in writes[1].detail


def test_schema_type_change_rebuilds_the_table(desired: list[DesiredPackage]) -> None:
    portal = with_tables(as_portal(desired), desired)
    schema = copy.deepcopy(desired[1].resources[0].schema)
    schema["fields"][1]["type"] = "number"  # position: integer → number
    portal[1]["resources"][0]["datastore_digest"] = table_digest(desired[1].resources[0].digest.sha256, schema)
    (write,) = plan(desired, portal, datastore=True).writes
    assert (write.kind, write.resource) == ("datastore", "phases")
    assert "rebuild (fields or types changed)" in write.detail


def test_table_dropped_on_the_portal_is_loaded_again(desired: list[DesiredPackage]) -> None:
    portal = with_tables(as_portal(desired), desired)
    portal[0]["resources"][0]["datastore_active"] = False
    (write,) = plan(desired, portal, datastore=True).writes
    assert (write.kind, write.resource) == ("datastore", "partners")
    assert write.payload["mode"] == "first-load"


def test_a_dropped_table_whose_digest_is_still_recorded_is_planned_as_a_first_load(
    desired: list[DesiredPackage],
) -> None:
    """Regression: the plan said "in place" while push, seeing no table, rebuilt it. The plan now
    decides from the portal's datastore_active, and push carries out exactly its mode."""
    portal = with_tables(as_portal(desired), desired)
    portal[1]["resources"][0]["hash"] = "0" * 64  # the file changed, too
    portal[1]["resources"][0]["datastore_digest"] = table_digest("0" * 64, desired[1].resources[0].schema)
    portal[1]["resources"][0]["datastore_active"] = False
    load = next(w for w in plan(desired, portal, datastore=True).writes if w.kind == "datastore")
    assert load.payload["mode"] == "first-load"
    assert "first load (the portal has no table for it)" in load.detail and "in place" not in load.detail


def test_a_table_not_known_to_hold_this_file_is_rebuilt(desired: list[DesiredPackage]) -> None:
    """A table without our digest (a run killed between loading and recording) is rebuilt, never appended to."""
    portal = with_tables(as_portal(desired), desired)
    del portal[1]["resources"][0]["datastore_digest"]
    (load,) = plan(desired, portal, datastore=True).writes
    assert load.payload["mode"] == "rebuild" and "not known to hold" in load.detail
