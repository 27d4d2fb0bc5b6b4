"""Secrets, wrong tokens, servers that are not CKAN, slow portals and damaged downloads, against
the real local CKAN (through the fault proxy where a fault is needed). Nothing here is mocked."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import ckanapi
import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.portal import Portal, RetryPolicy
from publish.pull import DigestMismatchError, download_verified
from publish.unmapping import ExpectedDigest
from tests.integration.fault_proxy import FaultProxy
from tests.integration.publishing import Publisher, names

# A token of the right form that no portal issued (a JWT of CKAN's shape, signed with nothing).
UNKNOWN_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJqdGkiOiJ1bmtub3duLXRva2VuIn0.bm90LWEtc2lnbmF0dXJl"


def invoke(args: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, env=env)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def commands(catalogue: Path, dataset: str, to: Path) -> dict[str, list[str]]:
    return {
        "diff": ["diff", "--catalogue", str(catalogue)],
        "push": ["push", "--yes", "--catalogue", str(catalogue)],
        "pull": ["pull", dataset, "--to", str(to)],
    }


@pytest.mark.parametrize("command", ["diff", "push", "pull"])
def test_a_token_the_portal_does_not_know_stops_every_command_with_exit_2(
    command: str, catalogue: Path, ckan_url: str, ckan: ckanapi.RemoteCKAN, organization: str, tmp_path: Path
) -> None:
    args = commands(catalogue, "digital-interkommunal-phasen", tmp_path / "pulled")[command]
    env = {"CKAN_URL": ckan_url, "CKAN_API_TOKEN": UNKNOWN_TOKEN, "PUBLISH_LOCK_DIR": str(tmp_path / "locks")}
    code, out, err = invoke([*args, "--json"], env)
    assert code == 2, out + err
    report = json.loads(out)
    assert report["ok"] is False and "rejects CKAN_API_TOKEN (expired or revoked?)" in report["error"]
    assert UNKNOWN_TOKEN not in out + err and "Traceback" not in out + err
    assert ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True)["count"] == 0


@pytest.mark.parametrize(
    "token",
    ["{t}\n", " {t}", "   ", "{t}é", "a{t} b", "{t}\x1b]0;pwned\x07"],
    ids=["newline", "space", "blank", "latin", "inner", "esc"],
)
@pytest.mark.parametrize("command", ["diff", "push", "pull"])
def test_a_token_of_a_broken_form_is_exit_2_with_json_and_never_shown(
    command: str, token: str, catalogue: Path, ckan_url: str, ckan_api_token: str, tmp_path: Path
) -> None:
    secret = token.format(t=ckan_api_token)
    args = commands(catalogue, "digital-interkommunal-phasen", tmp_path / "pulled")[command]
    env = {"CKAN_URL": ckan_url, "CKAN_API_TOKEN": secret, "PUBLISH_LOCK_DIR": str(tmp_path / "locks")}
    code, out, err = invoke([*args, "--json"], env)
    assert code == 2, out + err
    assert "CKAN_API_TOKEN" in json.loads(out)["error"]
    assert str(ckan_api_token) not in out + err and "Traceback" not in out + err
    code, out, err = invoke(args, env)  # and for people
    assert code == 2 and "CKAN_API_TOKEN" in err and str(ckan_api_token) not in out + err


@pytest.mark.parametrize("command", ["diff", "push", "pull"])
def test_credentials_in_the_portal_url_are_never_printed(command: str, catalogue: Path, tmp_path: Path) -> None:
    url = "http://steward:Geheim-Passwort@127.0.0.1:9"
    args = commands(catalogue, "x", tmp_path / "pulled")[command]
    code, out, err = invoke([*args, "--json"], {"CKAN_URL": url, "CKAN_API_TOKEN": ""})
    assert code == 2 and "user name or password" in json.loads(out)["error"]
    assert "Geheim-Passwort" not in out + err and "steward" not in out + err


@pytest.fixture
def not_ckan() -> Iterator[str]:
    """A web server on loopback that answers every request with an HTML page (say, a CMS)."""

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _page(self) -> None:
            body = b"<!DOCTYPE html><html><body>" + b"<p>Willkommen in Lemgo</p>" * 2000 + b"</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _page

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("command", ["diff", "push", "pull"])
def test_a_server_that_is_not_ckan_gets_one_sentence(
    command: str, not_ckan: str, catalogue: Path, tmp_path: Path
) -> None:
    args = commands(catalogue, "digital-interkommunal-phasen", tmp_path / "pulled")[command]
    code, out, err = invoke(args, {"CKAN_URL": not_ckan, "CKAN_API_TOKEN": "", "PUBLISH_LOCK_DIR": str(tmp_path)})
    assert code == 2, out + err
    assert "does not answer like a CKAN portal" in err and "HTML page" in err
    assert "Willkommen" not in out + err and len(out + err) < 2000


def test_a_failed_table_load_keeps_a_new_dataset_private_until_a_run_completes_it(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    # Every datastore_create is refused by a 502 that outlives the retries.
    proxy = FaultProxy(ckan_url, lambda n, m, p: "502" if "datastore_create" in p else None)
    url = proxy.start()
    try:
        code, report = publisher.json("push", "--yes", "--timeout", "5", env={"CKAN_URL": url})
    finally:
        proxy.stop()
    assert code == 3
    assert {a["outcome"] for a in report["actions"] if a["action"] == "datastore"} == {"failed"}
    releases = [a for a in report["actions"] if "made public" in a["detail"] or "private until" in a["detail"]]
    assert releases and {a["outcome"] for a in releases} == {"skipped"}
    for name in names(catalogue).values():
        assert ckan.action.package_show(id=name)["private"] is True, name
    # The rerun straight to the portal loads the tables, then makes the datasets public.
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    for name in names(catalogue).values():
        assert ckan.action.package_show(id=name)["private"] is False, name


def resources_by_key(ckan: ckanapi.RemoteCKAN, name: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for resource in ckan.action.package_show(id=name)["resources"]:
        key = resource.get("datapackage_resource")
        counts[key] = counts.get(key, 0) + 1
    return counts


def test_a_portal_slower_than_the_timeout_leaves_no_duplicate(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    """Every package_revise (a new dataset's files and release) is held 3 s before it reaches CKAN;
    the client gives up after 2 s and sends it again: CKAN's match on metadata_modified lets only
    one copy through, and the run adopts the one that landed."""
    slow = lambda n, m, p: "slow-forward" if p.endswith("/package_revise") else None  # noqa: E731
    proxy = FaultProxy(ckan_url, slow, hang_seconds=3.0)
    url = proxy.start()
    try:
        code, report = publisher.json("push", "--yes", "--no-datastore", "--timeout", "2", env={"CKAN_URL": url})
    finally:
        proxy.stop()
    assert code == 0, [(a["resource"], a["detail"]) for a in report["actions"] if a["outcome"] == "failed"]
    assert "slow-forward" in proxy.faults()
    for name in names(catalogue).values():
        counts = resources_by_key(ckan, name)
        assert counts and set(counts.values()) == {1}, (name, counts)
        assert ckan.action.package_show(id=name)["private"] is False
    code, report = publisher.json("push", "--yes", "--no-datastore")
    assert code == 0 and report["requests"] == 3
    assert [a for a in report["actions"] if a["action"] != "unchanged"] == []


def test_a_late_duplicate_on_the_portal_is_removed_by_the_next_run(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    phases = names(catalogue)["phases"]
    (original,) = ckan.action.package_show(id=phases)["resources"]
    copy_fields = {k: original[k] for k in ("name", "description", "hash", "sha256", "size", "datapackage_resource")}
    ckan.action.resource_create(package_id=phases, url="http://example.org/late.csv", **copy_fields)
    assert resources_by_key(ckan, phases) == {"phases": 2}
    code, report = publisher.json("push", "--yes")  # no --prune
    assert code == 0, report
    (removed,) = [a for a in report["actions"] if a["action"] == "delete"]
    assert "landed late" in removed["detail"]
    (kept,) = ckan.action.package_show(id=phases)["resources"]
    assert kept["id"] == original["id"]


def test_the_kept_copy_of_a_late_duplicate_is_put_back_in_catalogue_order(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN
) -> None:
    assert publisher.json("push", "--yes")[0] == 0
    projects = names(catalogue)["projects"]
    first, second = ckan.action.package_show(id=projects)["resources"]
    # A copy of the first resource lands last, with the right file; the first one's digest no
    # longer matches the catalogue: the plan keeps the copy, at the end, and deletes the first.
    fields = {k: first[k] for k in ("name", "description", "hash", "sha256", "size", "datapackage_resource")}
    with (catalogue / "datasets/projects/projects.csv").open("rb") as upload:
        copy = ckan.action.resource_create(package_id=projects, upload=upload, **fields)
    ckan.action.resource_patch(id=first["id"], sha256="0" * 64)
    code, report = publisher.json("push", "--yes")
    assert code == 0, report
    assert any("catalogue order" in note for note in report["notes"]), report["notes"]
    now = ckan.action.package_show(id=projects)["resources"]
    assert [(r["id"], r["datapackage_resource"]) for r in now] == [
        (copy["id"], "projects"),
        (second["id"], "project_partners"),
    ]
    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["requests"] == 3 and {a["action"] for a in report["actions"]} == {"unchanged"}


def a_killed_runs_create_lands(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str, when: tuple[str, ...]
) -> tuple[int, dict[str, Any], str]:
    """Published, then phases' resource gone from the portal. A run was killed while its create of
    that resource was in flight: CKAN goes on and the copy lands during the next run, just before
    the first request of that run whose path ends with one of ``when`` reaches CKAN. The next
    run's (code, report) and the dataset's name."""
    assert publisher.json("push", "--yes")[0] == 0
    phases = names(catalogue)["phases"]
    (original,) = ckan.action.package_show(id=phases)["resources"]
    fields = {k: original[k] for k in ("name", "description", "hash", "sha256", "size", "datapackage_resource")}
    ckan.action.resource_delete(id=original["id"])
    landed: list[str] = []

    def land_the_late_create(n: int, method: str, path: str) -> str | None:
        if not landed and path.endswith(when):
            with (catalogue / "datasets/phases/phases.csv").open("rb") as upload:
                landed.append(ckan.action.resource_create(package_id=phases, upload=upload, **fields)["id"])
        return None

    proxy = FaultProxy(ckan_url, land_the_late_create)
    url = proxy.start()
    try:
        code, report = publisher.json("push", "--yes", env={"CKAN_URL": url})
    finally:
        proxy.stop()
    assert landed, "the late create landed during the run"
    (create,) = [a for a in report["actions"] if a["resource"] == "phases" and a["action"] == "create"]
    assert create["outcome"] == "done" and create["detail"].startswith(f"adopted resource {landed[0]}"), create
    return code, report, phases


@pytest.mark.parametrize(
    "when",
    [
        # after the plan was made, before the run reads the dataset again to add the resource
        ("/package_show", "/package_revise", "/resource_create"),
        # after that read, just before the request that adds the resource: CKAN refuses it
        # (the dataset changed since), the run reads again and adopts the copy
        ("/package_revise", "/resource_create"),
    ],
    ids=["before-the-read", "before-the-create"],
)
def test_a_create_left_in_flight_by_a_killed_run_never_makes_a_duplicate(
    when: tuple[str, ...], publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str
) -> None:
    """CI found a run after kill -9 leaving two copies of a resource: the killed run's create
    landed after the next run had planned its own. Every create of a resource is now conditional
    on the dataset being as the run last saw it, so only one of the two can land."""
    code, report, phases = a_killed_runs_create_lands(publisher, catalogue, ckan, ckan_url, when)
    assert code == 0, [(a["resource"], a["detail"]) for a in report["actions"] if a["outcome"] == "failed"]
    assert resources_by_key(ckan, phases) == {"phases": 1}
    (resource,) = ckan.action.package_show(id=phases)["resources"]
    assert ckan.action.datastore_search(resource_id=resource["id"], limit=0)["total"] > 0  # its table loaded
    code, report = publisher.json("push", "--yes")
    assert code == 0 and report["requests"] == 3
    assert [a for a in report["actions"] if a["action"] != "unchanged"] == []


def test_a_damaged_or_interrupted_download_is_fetched_again_within_the_run(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str, tmp_path: Path
) -> None:
    """The portal's download URLs name the portal itself, so the proxy stands in front of the file
    URL directly: first attempt damaged (one byte changed), second cut off, third whole."""
    assert publisher.json("push", "--yes")[0] == 0
    phases = names(catalogue)["phases"]
    (resource,) = ckan.action.package_show(id=phases)["resources"]
    expected = ExpectedDigest(sha256=resource["sha256"], md5=resource["hash"], size=int(resource["size"]))
    seen: list[str] = []

    def schedule(n: int, method: str, path: str) -> str | None:
        seen.append(path)
        return {1: "corrupt", 2: "truncate"}.get(len(seen))

    proxy = FaultProxy(ckan_url, schedule)
    url = proxy.start()
    try:
        portal = Portal(url, policy=RetryPolicy(base_delay=0.1))
        target = tmp_path / "phases.csv"
        digest = download_verified(portal, resource["url"].replace(ckan_url, url), target, expected)
    finally:
        proxy.stop()
    assert proxy.faults() == ["corrupt", "truncate"] and len(seen) == 3
    assert digest.sha256 == resource["sha256"] and target.stat().st_size == int(resource["size"])
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".publish-part")] == []

    # Damaged every time: after the bounded attempts, an error naming the file; nothing kept.
    proxy = FaultProxy(ckan_url, lambda n, m, p: "corrupt")
    url = proxy.start()
    try:
        portal = Portal(url, policy=RetryPolicy(base_delay=0.1))
        with pytest.raises(DigestMismatchError, match=r"again\.csv.*after 3 attempts"):
            download_verified(portal, resource["url"].replace(ckan_url, url), tmp_path / "again.csv", expected)
    finally:
        proxy.stop()
    assert not (tmp_path / "again.csv").exists()
