"""Benchmark: push a catalogue with one large CSV (default 1 GiB) to the local CKAN and report
the peak memory (max RSS) of the `publish push` process, its duration and throughput.

Usage (the portal running, see `make portal`):
    .venv/bin/python benchmarks/push_large_file.py [--size-mb 1024] [--keep]

It creates a throwaway organization with the sysadmin token (CKAN_SYSADMIN_TOKEN, or the
portal's sysadmin.env), pushes as the editor (CKAN_API_TOKEN), reruns once (nothing to do), and
purges the organization at the end. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


def run_push(root: Path, env: dict[str, str]) -> tuple[int, dict, float, float]:
    """Run `publish push --yes --json` in a child; return exit code, report, seconds, peak RSS MiB."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "publish", "push", "--yes", "--json", "--timeout", "600", "--catalogue", str(root)],
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    report = (
        json.loads(result.stdout) if result.stdout.strip().startswith("{") else {"raw": result.stdout + result.stderr}
    )
    # ru_maxrss of children is the largest child so far; a later, smaller child cannot lower it.
    return result.returncode, report, seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--keep", action="store_true", help="keep the organization and the temp folder")
    args = parser.parse_args()
    settings = portal_settings()
    url, token, admin = settings.get("CKAN_URL"), settings.get("CKAN_API_TOKEN"), settings.get("CKAN_SYSADMIN_TOKEN")
    if not (url and token and admin):
        sys.exit("needs CKAN_URL, CKAN_API_TOKEN and CKAN_SYSADMIN_TOKEN (start the portal: make portal)")
    sysadmin = ckanapi.RemoteCKAN(url, apikey=admin)
    editor = ckanapi.RemoteCKAN(url, apikey=token).action.user_show()["name"]
    organization = f"bench-{uuid.uuid4().hex[:8]}"
    sysadmin.action.organization_create(name=organization)
    sysadmin.action.organization_member_create(id=organization, username=editor, role="editor")
    tmp = Path(tempfile.mkdtemp(prefix="publish-bench-"))
    try:
        started = time.monotonic()
        csv_path = write_catalogue(tmp, organization, args.size_mb)
        size = csv_path.stat().st_size
        print(f"file: {size / 2**20:.0f} MiB ({size} bytes), written in {time.monotonic() - started:.1f} s")
        env = {**os.environ, "CKAN_URL": url, "CKAN_API_TOKEN": token, "PUBLISH_LOCK_DIR": str(tmp / "locks")}
        code, report, seconds, peak = run_push(tmp, env)
        if code != 0:
            sys.exit(f"push failed (exit {code}): {json.dumps(report)[:2000]}")
        print(
            f"first push: {seconds:.1f} s (validation + digest + upload), {report['requests']} requests, "
            f"{report['bytes_uploaded'] / 2**20:.0f} MiB uploaded, "
            f"{report['bytes_uploaded'] / 2**20 / seconds:.1f} MiB/s overall, peak RSS {peak:.0f} MiB"
        )
        code, report, seconds, _ = run_push(tmp, env)
        print(
            f"rerun: {seconds:.1f} s, {report['requests']} requests, {report['bytes_uploaded']} bytes uploaded, "
            f"actions {sorted({a['action'] for a in report['actions']})}"
        )
        print(f"peak RSS of any push process: {peak:.0f} MiB")
    finally:
        if not args.keep:
            found = sysadmin.action.package_search(
                fq=f'organization:"{organization}"', include_private=True, include_deleted=True
            )
            for package in found["results"]:
                sysadmin.action.dataset_purge(id=package["id"])
            sysadmin.action.organization_purge(id=organization)
            subprocess.run(["rm", "-rf", str(tmp)], check=False)


if __name__ == "__main__":
    main()
