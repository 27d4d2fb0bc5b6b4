"""What a reliability trial checks, through CKAN's own API: the portal equals a clean publish."""

from __future__ import annotations

import csv
import hashlib
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ckanapi
import yaml

from tests.integration.publishing import DATASETS, Publisher, names


@dataclass
class Figures:
    name: str
    seed: int
    runs: int = 0
    faults: int = 0
    converged: bool = False
    duplicates: int = 0
    mismatches: int = 0


FIGURES: list[Figures] = []


def seed_for(trial: str) -> int:
    """CHAOS_SEED replays a trial; otherwise a fresh seed, printed in the summary."""
    given = os.environ.get("CHAOS_SEED")
    return int(given) if given else random.SystemRandom().randrange(10**9)


def csv_rows(path: Path) -> int:
    with path.open(newline="", encoding="utf-8") as handle:
        return sum(1 for _ in csv.reader(handle)) - 1


def compare_with_catalogue(ckan: ckanapi.RemoteCKAN, catalogue: Path, organization: str) -> tuple[int, list[str]]:
    """(duplicate resources, mismatches) between the portal and the local catalogue."""
    duplicates, mismatches = 0, []
    found = ckan.action.package_search(fq=f'organization:"{organization}"', include_private=True, rows=100)
    if found["count"] != len(DATASETS):
        mismatches.append(f"{found['count']} datasets in the organization, expected {len(DATASETS)}")
    for key, name in names(catalogue).items():
        package = ckan.action.package_show(id=name)
        if package.get("private"):
            mismatches.append(f"{name} is still private")
        descriptor: dict[str, Any] = yaml.safe_load((catalogue / "datasets" / key / "datapackage.yaml").read_text())
        wanted = {r["name"]: catalogue / "datasets" / key / r["path"] for r in descriptor["resources"]}
        seen: dict[str, int] = {}
        for resource in package["resources"]:
            rkey = resource.get("datapackage_resource")
            seen[rkey] = seen.get(rkey, 0) + 1
        duplicates += sum(n - 1 for n in seen.values() if n > 1)
        if set(seen) != set(wanted):
            mismatches.append(f"{name}: resources {sorted(seen)} != {sorted(wanted)}")
        for resource in package["resources"]:
            path = wanted.get(resource.get("datapackage_resource"))
            if path is None:
                continue
            local = hashlib.sha256(path.read_bytes()).hexdigest()
            if resource.get("sha256") != local:
                mismatches.append(f"{name}/{resource['datapackage_resource']}: digest differs from the local file")
            if str(resource.get("size")) != str(path.stat().st_size):
                mismatches.append(f"{name}/{resource['datapackage_resource']}: size differs")
            try:
                total = ckan.action.datastore_search(resource_id=resource["id"], limit=0)["total"]
            except ckanapi.NotFound:
                total = None
            if total != csv_rows(path):
                mismatches.append(
                    f"{name}/{resource['datapackage_resource']}: {total} DataStore rows, CSV has {csv_rows(path)}"
                )
    return duplicates, mismatches


def unchanged_rerun(publisher: Publisher) -> list[str]:
    """An unchanged rerun straight to the portal: 3 requests, every action unchanged."""
    code, report = publisher.json("push", "--yes")
    problems = []
    if code != 0:
        problems.append(f"the rerun exited {code}")
    changed = [
        f"{a['dataset']}/{a['resource']}: {a['action']}"
        for a in report.get("actions", [])
        if a["action"] != "unchanged"
    ]
    if changed:
        problems.append(f"the rerun still changed: {changed}")
    if report.get("requests") != 3:
        problems.append(f"the rerun sent {report.get('requests')} requests, not 3")
    return problems
