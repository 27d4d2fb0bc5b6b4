"""Benchmark: publish one synthetic catalogue with ckanapi, frictionless-py and `publish`, then rerun.

Usage (`make benchmark-peers` installs the peers and starts the portal first):
    .venv/bin/python benchmarks/peers.py [--datasets 50] [--files 3] [--rows 3000] [--datastore] [--keep]

- The peers live in their own venvs under .bench/ (gitignored): `ckanapi` (its CLI) and
  `frictionless[ckan]` (its CKAN portal); `make benchmark-peers` creates them.
- A synthetic catalogue: N datasets × M CSVs of ROWS typed rows each (the same bytes for every
  tool), with a Table Schema per file.
- Every tool publishes into its own throwaway organization (made with the sysadmin token, the
  editor a member; purged at the end with everything in it) as the editor, through a counting
  proxy on loopback (tests/integration/fault_proxy.py without faults) that counts requests and
  bytes up and down (headers and bodies).
- Each tool runs twice: first publish, then the same command again with nothing changed.
  * ckanapi: `ckanapi load datasets` (JSON lines of CKAN dataset dicts), then
    `ckanapi batch --local-files` with one `resource_create` per file (its documented way to upload
    local files; `load --upload-resources` re-uploads from a resource's URL, for migrations).
  * frictionless: `Package(descriptor).publish(portal, control=CkanControl(...))` per dataset
    (`frictionless publish` asks for the key on a terminal). The plain rerun fails (the dataset
    exists); the rerun with `allow_update=True` is measured too.
  * publish: `publish push --yes --json --no-datastore` (and, with --datastore, a fourth
    organization with the DataStore load, the default).
- After the rerun, the portal is read directly (not through the proxy): resources per
  organization and duplicates (resources beyond the first of the same name in a dataset).

Figures are printed, not asserted. One run each, on a shared machine: read the ratios, not the
last digit.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tests.integration.fault_proxy import FaultProxy, no_faults  # noqa: E402

CATEGORIES = ["Strom", "Wasser", "Wärme", "Abfall", "Verkehr"]
WORDS = ["Lemgo", "Kalletal", "Sensor", "Messwert", "Brücke", "Radweg", "Schule", "Pegel", "Ladepunkt", "Mühle"]
SCHEMA: dict[str, Any] = {
    "fields": [
        {"name": "id", "type": "integer", "title": "Nummer", "description": "Laufende Nummer."},
        {"name": "ort", "type": "string", "title": "Ort", "description": "Synthetischer Text."},
        {
            "name": "kategorie",
            "type": "string",
            "title": "Kategorie",
            "description": "Eine von fünf Kategorien.",
            "constraints": {"enum": CATEGORIES},
        },
        {"name": "wert", "type": "number", "title": "Wert", "description": "Synthetischer Messwert."},
        {"name": "datum", "type": "date", "title": "Datum", "description": "Tag der Messung."},
        {"name": "aktiv", "type": "boolean", "title": "Aktiv", "description": "Synthetischer Schalter."},
        {
            "name": "source_url",
            "type": "string",
            "format": "uri",
            "title": "Quelle",
            "description": "Woher die Zeile stammt (hier: synthetisch erzeugt).",
        },
    ]
}
SOURCE = "https://example.org/synthetic"  # every row says where it comes from: nowhere real
FIELDS = [f["name"] for f in SCHEMA["fields"]]


# --- the synthetic catalogue -------------------------------------------------------------------


@dataclass
class Table:
    dataset: int
    number: int
    name: str  # resource name, e.g. "tabelle-2"
    path: Path


@dataclass
class Synthetic:
    """The CSVs of a synthetic catalogue: ``tables[i]`` are dataset i's files."""

    root: Path
    tables: list[list[Table]] = field(default_factory=list)

    @property
    def files(self) -> list[Path]:
        return [t.path for ts in self.tables for t in ts]


def write_csv(path: Path, dataset: int, number: int, rows: int) -> None:
    """ROWS rows valid against SCHEMA; the same bytes for the same (dataset, number, rows)."""
    rng = random.Random(dataset * 1009 + number)
    start = date(2020, 1, 1)
    lines = [",".join(FIELDS)]
    for n in range(1, rows + 1):
        lines.append(
            f"{n},{rng.choice(WORDS)} {rng.randrange(1000)},{rng.choice(CATEGORIES)},"
            f"{rng.randrange(100000) / 100},{start + timedelta(days=rng.randrange(2000))},"
            f"{'true' if rng.random() < 0.5 else 'false'},{SOURCE}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def generate(root: Path, datasets: int, files: int, rows: int) -> Synthetic:
    """Write datasets × files CSVs under ``root/data/dNNN/``."""
    synthetic = Synthetic(root)
    for i in range(1, datasets + 1):
        folder = root / "data" / f"d{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        tables = []
        for j in range(1, files + 1):
            path = folder / f"tabelle-{j}.csv"
            write_csv(path, i, j, rows)
            tables.append(Table(i, j, f"tabelle-{j}", path))
        synthetic.tables.append(tables)
    return synthetic


def dataset_name(organization: str, index: int) -> str:
    return f"{organization}-{index:03d}"


def ckanapi_inputs(synthetic: Synthetic, organization: str, folder: Path) -> tuple[Path, Path]:
    """JSON lines for `ckanapi load datasets` and for `ckanapi batch --local-files`."""
    folder.mkdir(parents=True, exist_ok=True)
    datasets, uploads = [], []
    for i, tables in enumerate(synthetic.tables, 1):
        name = dataset_name(organization, i)
        datasets.append(
            {
                "name": name,
                "title": f"Benchmark {i}",
                "owner_org": organization,
                "notes": "Synthetische Daten für einen Vergleich der Werkzeuge.",
            }
        )
        for t in tables:
            data = {"package_id": name, "name": t.name, "format": "CSV"}
            uploads.append({"action": "resource_create", "data": data, "files": {"upload": str(t.path)}})
    load, batch = folder / "datasets.jsonl", folder / "uploads.jsonl"
    load.write_text("".join(json.dumps(d) + "\n" for d in datasets))
    batch.write_text("".join(json.dumps(u) + "\n" for u in uploads))
    return load, batch


def frictionless_packages(synthetic: Synthetic, organization: str, folder: Path) -> Path:
    """The list of {basepath, descriptor} that peer_frictionless.py publishes."""
    folder.mkdir(parents=True, exist_ok=True)
    packages = []
    for i, tables in enumerate(synthetic.tables, 1):
        descriptor = {
            "name": dataset_name(organization, i),
            "title": f"Benchmark {i}",
            "description": "Synthetische Daten für einen Vergleich der Werkzeuge.",
            "resources": [{"name": t.name, "path": t.path.name, "format": "csv", "schema": SCHEMA} for t in tables],
        }
        packages.append({"basepath": str(tables[0].path.parent), "descriptor": descriptor})
    path = folder / "packages.json"
    path.write_text(json.dumps(packages, ensure_ascii=False))
    return path


def publish_catalogue(synthetic: Synthetic, organization: str, root: Path) -> Path:
    """A catalogue in this repository's layout (shared metadata from the real catalogue)."""
    (root / "datasets").mkdir(parents=True)
    (root / "schemas").mkdir()
    meta = yaml.safe_load((REPO / "datasets/catalogue.yaml").read_text())
    meta["organization"] = {"name": organization, "title": f"Benchmark {organization}"}
    (root / "datasets/catalogue.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
    (root / "schemas/tabelle.schema.json").write_text(json.dumps(SCHEMA, ensure_ascii=False))
    for i, tables in enumerate(synthetic.tables, 1):
        folder = root / "datasets" / f"d{i:03d}"
        folder.mkdir()
        (folder / "schemas").symlink_to("../../schemas")
        resources = []
        for t in tables:
            shutil.copyfile(t.path, folder / t.path.name)
            resources.append(
                {
                    "name": t.name,
                    "title": f"Tabelle {t.number}",
                    "path": t.path.name,
                    "schema": "schemas/tabelle.schema.json",
                    "format": "csv",
                    "mediatype": "text/csv",
                    "encoding": "utf-8",
                }
            )
        descriptor = {
            "name": dataset_name(organization, i),
            "identifier": f"benchmark/{organization}/{i:03d}",
            "title": f"Benchmark {i}",
            "description": "Synthetische Daten für einen Vergleich der Werkzeuge.",
            "keywords": ["Benchmark"],
            "homepage": "https://digital-interkommunal.de/",
            "themes": ["TECH"],
            "temporal": {"start": "2020-01-01"},
            "resources": resources,
        }
        (folder / "datapackage.yaml").write_text(yaml.safe_dump(descriptor, allow_unicode=True))
    return root


# --- running the tools -------------------------------------------------------------------------


@dataclass
class Run:
    tool: str
    run: str
    requests: int = 0
    up: int = 0
    down: int = 0
    seconds: float = 0.0
    error: str | None = None
    resources: int | None = None
    duplicates: int | None = None


def measured(tool: str, run: str, upstream: str, commands: list[list[str]], env: dict[str, str]) -> Run:
    """Run COMMANDS one after the other (each given the proxy URL in place of "{portal}")."""
    proxy = FaultProxy(upstream, no_faults)
    url = proxy.start()
    result = Run(tool, run)
    try:
        started = time.monotonic()
        for command in commands:
            with tempfile.TemporaryDirectory() as folder:
                log = Path(folder) / "log.jsonl"  # ckanapi's -l: one JSON line per record, its error included
                argv = [part.replace("{portal}", url).replace("{log}", str(log)) for part in command]
                done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
                records = log.read_text(encoding="utf-8") if log.exists() else ""
            problem = failure(tool, done, records)
            if problem:
                result.error = problem
                break
        result.seconds = time.monotonic() - started
    finally:
        proxy.stop()
    result.requests, result.up, result.down = proxy.count, proxy.bytes_up, proxy.bytes_down
    return result


def failure(tool: str, done: subprocess.CompletedProcess[str], records: str = "") -> str | None:
    """The first error a tool reported, in one line, or None.

    ``records`` is ckanapi's log (-l): `batch` exits 0 even when records failed, so it is read.
    """
    lines = [parsed(line) for line in done.stdout.splitlines() if line.startswith(("[", "{"))]
    if tool == "ckanapi":  # log records: [timestamp, n, action, error, response]
        logged = [parsed(line) for line in records.splitlines()]
        failed = [r for r in logged if isinstance(r, list) and len(r) >= 5 and r[3]]
        if failed:
            return f"{len(failed)} records failed, e.g. {r_text(failed[0][3])}: {r_text(failed[0][4])}"
    elif tool == "frictionless":
        errors = [r for r in lines if isinstance(r, dict) and r.get("error")]
        if errors:
            return f"{len(errors)} of {len(lines)} datasets failed, e.g. {r_text(errors[0]['error'])}"
    elif tool.startswith("publish") and done.returncode != 0:
        report = parsed(done.stdout)
        report = report if isinstance(report, dict) else {}
        return f"exit {done.returncode}: {r_text(report.get('error') or done.stdout or done.stderr)}"
    if done.returncode != 0:
        return f"exit {done.returncode}: {r_text(done.stderr.strip().splitlines()[-1:] or done.stdout)}"
    return None


def parsed(text: str) -> Any:
    """JSON, or None when TEXT is not JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return None


def r_text(value: Any) -> str:
    """VALUE in one line of at most 160 characters (CKAN's `"help": URL` left out)."""
    return re.sub(r'"help": "[^"]*", ', "", " ".join(str(value).split()))[:160]


def on_portal(sysadmin: Any, organization: str) -> tuple[int, int]:
    """Resources in the organization's datasets, and how many of them repeat a name in their dataset."""
    found = sysadmin.action.package_search(fq=f'organization:"{organization}"', include_private=True, rows=1000)
    total = duplicates = 0
    for package in found["results"]:
        names = [r.get("name") for r in package.get("resources", [])]
        total += len(names)
        duplicates += len(names) - len(set(names))
    return total, duplicates


@contextlib.contextmanager
def organizations(sysadmin: Any, editor: str, labels: list[str]) -> Iterator[dict[str, str]]:
    """One throwaway organization per label (the editor a member); purged with their datasets after."""
    from scratch import purge

    made: dict[str, str] = {}
    try:
        for label in labels:
            name = f"peer-{label}-{uuid.uuid4().hex[:6]}"
            sysadmin.action.organization_create(name=name)
            made[label] = name
            sysadmin.action.organization_member_create(id=name, username=editor, role="editor")
        yield made
    finally:
        for name in made.values():
            purge(sysadmin, name)


def version(python: Path, package: str) -> str:
    code = f"import importlib.metadata as m; print(m.version({package!r}))"
    return subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def stamp() -> str:
    """The time now, as CKAN's log writes it (to find a run's requests and their render times)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())


def load_average() -> str:
    """The machine's 1/5/15-minute load: other work on it slows every tool."""
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def table(runs: list[Run]) -> str:
    base = {r.run: r.seconds for r in runs if r.tool == "ckanapi" and not r.error}  # same run of ckanapi
    head = "| tool | run | requests | MB up | MB down | wall s | × ckanapi | resources | duplicates | error |"
    lines = [head, "|---|---|--:|--:|--:|--:|--:|--:|--:|---|"]
    for r in runs:
        same = base.get(r.run.split()[0])  # "rerun (allow_update)" compares with ckanapi's rerun
        ratio = f"{r.seconds / same:.2f}" if same else "–"
        lines.append(
            f"| {r.tool} | {r.run} | {r.requests} | {r.up / 1e6:.2f} | {r.down / 1e6:.2f} | {r.seconds:.1f} | "
            f"{ratio} | {'' if r.resources is None else r.resources} | "
            f"{'' if r.duplicates is None else r.duplicates} | {r.error or ''} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--files", type=int, default=3, help="CSVs per dataset")
    parser.add_argument("--rows", type=int, default=3000, help="rows per CSV")
    parser.add_argument("--datastore", action="store_true", help="also `publish push` with the DataStore load")
    parser.add_argument("--bench-dir", type=Path, default=REPO / ".bench", help="where the peers' venvs are")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (organizations are purged)")
    parser.add_argument(
        "--tools",
        default="ckanapi,frictionless,publish",
        help="comma-separated subset of ckanapi,frictionless,publish (ckanapi always runs: the ratios' base)",
    )
    parser.add_argument("--jobs", type=int, default=None, help="`publish push --jobs N` (default: its own default)")
    parser.add_argument(
        "--summary", type=Path, help="also write the figures as JSON to this file (benchmarks/goals.py)"
    )
    args = parser.parse_args()

    import ckanapi
    from scratch import portal_settings

    ckanapi_cli = args.bench_dir / "ckanapi/bin/ckanapi"
    fl_python = args.bench_dir / "frictionless/bin/python"
    for path in (ckanapi_cli, fl_python):
        if not path.exists():
            sys.exit(f"{path} is missing: `make benchmark-peers` installs the peers' venvs")
    settings = portal_settings()
    url, token, admin = settings.get("CKAN_URL"), settings.get("CKAN_API_TOKEN"), settings.get("CKAN_SYSADMIN_TOKEN")
    if not (url and token and admin):
        sys.exit("needs CKAN_URL, CKAN_API_TOKEN and CKAN_SYSADMIN_TOKEN (start the portal: make portal)")
    sysadmin = ckanapi.RemoteCKAN(url, apikey=admin)
    editor = ckanapi.RemoteCKAN(url, apikey=token).action.user_show()["name"]

    root = Path(tempfile.mkdtemp(prefix="peers-"))
    synthetic = generate(root, args.datasets, args.files, args.rows)
    size = sum(p.stat().st_size for p in synthetic.files)
    print(
        f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, portal {url}; "
        f"ckanapi {version(args.bench_dir / 'ckanapi/bin/python', 'ckanapi')}, "
        f"frictionless {version(fl_python, 'frictionless')}; load average {load_average()}"
    )
    print(
        f"catalogue: {args.datasets} datasets × {args.files} CSVs × {args.rows} rows = "
        f"{len(synthetic.files)} files, {size / 1e6:.1f} MB"
    )
    chosen = {"ckanapi", *args.tools.split(",")}
    labels = [t for t in ("ckanapi", "frictionless", "publish") if t in chosen]
    labels += ["datastore"] if args.datastore else []
    path = f"{ckanapi_cli.parent}{os.pathsep}{os.environ.get('PATH', '')}"  # `batch` starts `ckanapi` workers
    env = {**os.environ, "PATH": path, "CKAN_URL": url, "CKAN_API_TOKEN": token}
    env["PUBLISH_LOCK_DIR"] = str(root / "locks")
    # Cold validation cache for the first publish (these files were never validated: a fair first
    # publish), the cache that run wrote for the rerun, as a user would have it.
    env["PUBLISH_VALIDATION_CACHE"] = str(root / "validation-cache")
    runs: list[Run] = []
    try:
        with organizations(sysadmin, editor, labels) as orgs:
            load, batch = ckanapi_inputs(synthetic, orgs["ckanapi"], root / "ckanapi")
            ckanapi_cmds = [
                [
                    str(ckanapi_cli),
                    "load",
                    "datasets",
                    "-I",
                    str(load),
                    "-r",
                    "{portal}",
                    "-a",
                    token,
                    "-q",
                    "-l",
                    "{log}",
                ],
                [
                    str(ckanapi_cli),
                    "batch",
                    "--local-files",
                    "-I",
                    str(batch),
                    "-r",
                    "{portal}",
                    "-a",
                    token,
                    "-q",
                    "-l",
                    "{log}",
                ],
            ]
            plans: list[tuple[str, str, list[list[str]]]] = [("ckanapi", orgs["ckanapi"], ckanapi_cmds)]
            fl_cmd: list[str] = []
            if "frictionless" in orgs:
                packages = frictionless_packages(synthetic, orgs["frictionless"], root / "frictionless")
                fl_cmd = [str(fl_python), str(Path(__file__).with_name("peer_frictionless.py")), str(packages)]
                fl_cmd += ["--portal", "{portal}", "--organization", orgs["frictionless"]]
                plans.append(("frictionless", orgs["frictionless"], [fl_cmd]))
            for label, tool, extra in [("publish", "publish", ["--no-datastore"]), ("datastore", "publish+DS", [])]:
                if label in orgs:
                    catalogue = publish_catalogue(synthetic, orgs[label], root / label)
                    cmd = [sys.executable, "-m", "publish", "push", "--yes", "--json", "--catalogue", str(catalogue)]
                    cmd += [] if args.jobs is None else ["--jobs", str(args.jobs)]
                    plans.append((tool, orgs[label], [[*cmd, "--portal", "{portal}", *extra]]))
            for tool, org, commands in plans:
                print(f"{tool}: first publish ... (from {stamp()} UTC)", flush=True)
                runs.append(measured(tool, "first", url, commands, env))
                print(f"{tool}: rerun, nothing changed ... (from {stamp()} UTC)", flush=True)
                runs.append(measured(tool, "rerun", url, commands, env))
                if tool == "frictionless":
                    print(f"{tool}: rerun with allow_update ...", flush=True)
                    runs.append(measured(tool, "rerun (allow_update)", url, [[*fl_cmd, "--allow-update"]], env))
                runs[-1].resources, runs[-1].duplicates = on_portal(sysadmin, org)
            if args.keep:
                print(f"kept {root}; organizations: {', '.join(orgs.values())} (purged)")
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print()
    print(f"expected on the portal: {len(synthetic.files)} resources per tool; load average {load_average()}")
    print(table(runs))
    if args.summary:
        shape = {"datasets": args.datasets, "files": args.files, "rows": args.rows}
        args.summary.write_text(json.dumps({"peers": {**shape, "runs": [vars(r) for r in runs]}}))


if __name__ == "__main__":
    main()
