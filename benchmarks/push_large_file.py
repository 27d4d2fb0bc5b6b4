"""Benchmark: push a catalogue with one large CSV (default 1 GiB) to the local CKAN and report
the peak memory (max RSS) of the `publish push` process, its duration and throughput.

Usage (the portal running, see `make portal`):
    .venv/bin/python benchmarks/push_large_file.py [--size-mb 1024] [--no-datastore] [--keep]

It creates a throwaway organization with the sysadmin token (CKAN_SYSADMIN_TOKEN, or the
portal's sysadmin.env), runs `publish validate` alone (to show what validation costs by itself),
pushes as the editor (CKAN_API_TOKEN), reruns once (nothing to do), and drops the DataStore
tables, datasets and organization at the end. Each child's own peak RSS is reported.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import ckanapi
import yaml

REPO = Path(__file__).resolve().parent.parent


def portal_settings() -> dict[str, str]:
    settings = {}
    for name in ("env.sh", "sysadmin.env"):
        path = REPO / ".portal" / name
        if path.is_file():
            for line in path.read_text().splitlines():
                if line.startswith("export ") and "=" in line:
                    key, value = line[len("export ") :].split("=", 1)
                    settings[key] = value.strip("'\"")
    settings.update({k: v for k, v in os.environ.items() if k.startswith("CKAN_")})
    return settings


def write_catalogue(root: Path, organization: str, size_mb: int) -> Path:
    (root / "datasets/big").mkdir(parents=True)
    (root / "schemas").mkdir()
    meta = yaml.safe_load((REPO / "datasets/catalogue.yaml").read_text())
    meta["organization"]["name"] = organization
    (root / "datasets/catalogue.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True))
    (root / "datasets/big/schemas").symlink_to("../../schemas")
    schema = {
        "fields": [
            {"name": "id", "type": "integer", "title": "Nummer", "description": "Laufende Nummer."},
            {"name": "text", "type": "string", "title": "Text", "description": "Synthetischer Text."},
        ]
    }
    (root / "schemas/big.schema.json").write_text(json.dumps(schema))
    descriptor = {
        "name": f"benchmark-big-{organization}",
        "identifier": "benchmark/big",
        "title": "Benchmark: große Datei",
        "description": "Synthetische Daten für einen Speicher-Benchmark.",
        "keywords": ["Benchmark"],
        "homepage": "https://digital-interkommunal.de/",
        "themes": ["TECH"],
        "temporal": {"start": "2021-01-01"},
        "resources": [
            {
                "name": "big",
                "title": "Groß",
                "path": "big.csv",
                "schema": "schemas/big.schema.json",
                "format": "csv",
                "mediatype": "text/csv",
                "encoding": "utf-8",
            }
        ],
    }
    (root / "datasets/big/datapackage.yaml").write_text(yaml.safe_dump(descriptor, allow_unicode=True))
    target = size_mb * 1024 * 1024
    filler = "x" * 180
    with (root / "datasets/big/big.csv").open("w", encoding="utf-8") as handle:
        handle.write("id,text\n")
        written, n = 8, 0
        block = []
        while written < target:
            n += 1
            line = f"{n},{filler}\n"
            block.append(line)
            written += len(line)
            if len(block) == 10_000:
                handle.write("".join(block))
                block = []
        handle.write("".join(block))
    return root / "datasets/big/big.csv"


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument(
        "--no-datastore", action="store_true", help="push with --no-datastore (upload only, no DataStore load)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the organization and the temp folder")
    args = parser.parse_args()
    settings = portal_settings()
    url, token, admin = settings.get("CKAN_URL"), settings.get("CKAN_API_TOKEN"), settings.get("CKAN_SYSADMIN_TOKEN")
    if not (url and token and admin):
        sys.exit("needs CKAN_URL, CKAN_API_TOKEN and CKAN_SYSADMIN_TOKEN (start the portal: make portal)")
    sysadmin = ckanapi.RemoteCKAN(url, apikey=admin)
    editor = ckanapi.RemoteCKAN(url, apikey=token).action.user_show()["name"]
    organization = f"bench-{uuid.uuid4().hex[:8]}"
    tmp = Path(tempfile.mkdtemp(prefix="publish-bench-"))
    sysadmin.action.organization_create(name=organization)
    try:
        sysadmin.action.organization_member_create(id=organization, username=editor, role="editor")
        print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, portal {url}")
        started = time.monotonic()
        csv_path = write_catalogue(tmp, organization, args.size_mb)
        size = csv_path.stat().st_size
        print(f"file: {size / 2**20:.0f} MiB ({size} bytes), written in {time.monotonic() - started:.1f} s")
        env = {**os.environ, "CKAN_URL": url, "CKAN_API_TOKEN": token, "PUBLISH_LOCK_DIR": str(tmp / "locks")}

        code, output, seconds, peak = run_cli(["validate", "--json", "--catalogue", str(tmp)], env)
        if code != 0:
            sys.exit(f"validate failed (exit {code}): {output[:2000]}")
        rows = json.loads(output)["checked"]["rows"]
        print(
            f"validate only: {seconds:.1f} s, {rows} rows, {size / 2**20 / seconds:.1f} MiB/s, peak RSS {peak:.0f} MiB"
        )

        code, report, seconds, peak = run_push(tmp, env, datastore=not args.no_datastore)
        if code != 0:
            sys.exit(f"push failed (exit {code}): {json.dumps(report)[:2000]}")
        steps = "validation + digest + upload" + ("" if args.no_datastore else " + DataStore load")
        print(
            f"first push: {seconds:.1f} s ({steps}), {report['requests']} requests, "
            f"{report['bytes_uploaded'] / 2**20:.0f} MiB uploaded, "
            f"{report['bytes_uploaded'] / 2**20 / seconds:.1f} MiB/s overall, peak RSS {peak:.0f} MiB"
        )
        print(f"  actions: {describe(report)}")
        first_peak = peak

        code, report, seconds, peak = run_push(tmp, env, datastore=not args.no_datastore)
        if code != 0:
            sys.exit(f"rerun failed (exit {code}): {json.dumps(report)[:2000]}")
        print(
            f"rerun: {seconds:.1f} s, {report['requests']} requests, {report['bytes_uploaded']} bytes uploaded, "
            f"actions {sorted({a['action'] for a in report['actions']})}, peak RSS {peak:.0f} MiB"
        )
        print(f"peak RSS of any push process: {max(first_peak, peak):.0f} MiB")
    finally:
        if not args.keep:
            purge(sysadmin, organization)
            subprocess.run(["rm", "-rf", str(tmp)], check=False)
        else:
            print(f"kept organization {organization} and {tmp}")


if __name__ == "__main__":
    main()
