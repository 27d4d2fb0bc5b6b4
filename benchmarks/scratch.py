"""What the benchmarks share: the portal's settings, a throwaway organization and catalogue,
child runs of `publish` with their own peak memory, and the clean-up.

Not a benchmark itself; the scripts next to it import it (this folder is on sys.path when a
script here runs).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ckanapi
import yaml

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Scratch:
    """A throwaway organization on the local portal (the editor is a member) and a temp folder."""

    url: str
    sysadmin: ckanapi.RemoteCKAN
    organization: str
    root: Path
    env: dict[str, str]  # for `publish` children: the portal, the editor's token, a private lock dir


@contextlib.contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Scratch]:
    """Make the organization and folder; purge both afterwards unless ``keep``."""
    settings = portal_settings()
    url, token, admin = settings.get("CKAN_URL"), settings.get("CKAN_API_TOKEN"), settings.get("CKAN_SYSADMIN_TOKEN")
    if not (url and token and admin):
        sys.exit("needs CKAN_URL, CKAN_API_TOKEN and CKAN_SYSADMIN_TOKEN (start the portal: make portal)")
    sysadmin = ckanapi.RemoteCKAN(url, apikey=admin)
    editor = ckanapi.RemoteCKAN(url, apikey=token).action.user_show()["name"]
    organization = f"bench-{uuid.uuid4().hex[:8]}"
    root = Path(tempfile.mkdtemp(prefix=prefix))
    sysadmin.action.organization_create(name=organization)
    try:
        sysadmin.action.organization_member_create(id=organization, username=editor, role="editor")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, portal {url}")
        env = {**os.environ, "CKAN_URL": url, "CKAN_API_TOKEN": token, "PUBLISH_LOCK_DIR": str(root / "locks")}
        yield Scratch(url, sysadmin, organization, root, env)
    finally:
        if keep:
            print(f"kept organization {organization} and {root}")
        else:
            purge(sysadmin, organization)
            shutil.rmtree(root, ignore_errors=True)


def write_dataset(
    root: Path, organization: str, folder: str, schema: dict[str, Any], descriptor: dict[str, Any]
) -> Path:
    """A one-dataset catalogue under ``root`` (shared metadata from the real catalogue); its folder."""
    (root / "datasets" / folder).mkdir(parents=True)
    (root / "schemas").mkdir()
    meta = yaml.safe_load((REPO / "datasets/catalogue.yaml").read_text())
    meta["organization"]["name"] = organization
    (root / "datasets/catalogue.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
    (root / "datasets" / folder / "schemas").symlink_to("../../schemas")
    (root / "schemas" / f"{folder}.schema.json").write_text(json.dumps(schema, ensure_ascii=False))
    (root / "datasets" / folder / "datapackage.yaml").write_text(yaml.safe_dump(descriptor, allow_unicode=True))
    return root / "datasets" / folder


def validate_only(root: Path, env: dict[str, str]) -> tuple[dict, float, float]:
    """`publish validate --json` alone: its report, seconds and peak RSS (MiB)."""
    code, output, seconds, peak = run_cli(["validate", "--json", "--catalogue", str(root)], env)
    if code != 0:
        sys.exit(f"validate failed (exit {code}): {output[:2000]}")
    return json.loads(output), seconds, peak


def portal_settings() -> dict[str, str]:
    settings = {}
    state = Path(os.environ.get("PORTAL_STATE", ".portal"))  # as portal/portal.sh reads it
    state = state if state.is_absolute() else REPO / state
    for name in ("env.sh", "sysadmin.env"):
        path = state / name
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.startswith("export ") and "=" in line:
                    key, value = line[len("export ") :].split("=", 1)
                    settings[key] = value.strip("'\"")
    settings.update({k: v for k, v in os.environ.items() if k.startswith("CKAN_")})
    return settings


def run_cli(args: list[str], env: dict[str, str]) -> tuple[int, str, float, float]:
    """Run `python -m publish ARGS` in a child; return exit code, output, seconds, the child's own peak RSS MiB.

    The peak is read from this child's rusage (os.wait4), not RUSAGE_CHILDREN, which only keeps the
    largest of all children so far and so cannot tell a later, smaller run apart.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        child = subprocess.Popen([sys.executable, "-m", "publish", *args], env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.monotonic() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    output = stdout if stdout.strip().startswith("{") else stdout + stderr
    return child.returncode, output, seconds, usage.ru_maxrss / 1024  # ru_maxrss is in KiB on Linux


def run_push(root: Path, env: dict[str, str], datastore: bool) -> tuple[int, dict, float, float]:
    """Run `publish push --yes --json`; return exit code, report, seconds, peak RSS MiB."""
    args = ["push", "--yes", "--json", "--timeout", "600", "--catalogue", str(root)]
    code, output, seconds, peak = run_cli(args + ([] if datastore else ["--no-datastore"]), env)
    report = json.loads(output) if output.strip().startswith("{") else {"raw": output}
    return code, report, seconds, peak


def describe(report: dict) -> str:
    """Actions of a push report, e.g. 'create x2, datastore (5687053 rows loaded)'."""
    counts: dict[str, int] = {}
    details = []
    for action in report.get("actions", []):
        counts[action["action"]] = counts.get(action["action"], 0) + 1
        if action["action"] == "datastore" and action.get("outcome") == "done":
            details.append(action.get("detail", ""))
    text = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(counts.items()))
    return text + (f" ({'; '.join(details)})" if details else "")


def purge(sysadmin: ckanapi.RemoteCKAN, organization: str) -> None:
    """Drop the DataStore tables, purge the datasets, then the organization."""
    found = sysadmin.action.package_search(
        fq=f'organization:"{organization}"', include_private=True, include_deleted=True, rows=1000
    )
    for package in found["results"]:
        for res in package.get("resources", []):
            with contextlib.suppress(ckanapi.NotFound):  # NotFound: no table for this resource
                sysadmin.action.datastore_delete(resource_id=res["id"], force=True)
        sysadmin.action.dataset_purge(id=package["id"])
    sysadmin.action.organization_purge(id=organization)
