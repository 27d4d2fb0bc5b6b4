"""Benchmark: an unchanged rerun of a large catalogue, as a scheduled job runs it (a new process).

Usage (needs the local portal and its sysadmin token: `eval "$(portal/portal.sh env --sysadmin)"`):
    .venv/bin/python benchmarks/unchanged_rerun.py [--datasets 50] [--files 3] [--rows 3000] [--repeat 3]

Writes the synthetic catalogue of `benchmarks/peers.py` (N datasets × M CSVs of ROWS typed rows),
publishes it once into a throwaway organization (`--no-datastore`, to keep the setup short; the
rerun's requests are the same with the DataStore), then runs `publish push --yes --json
--no-datastore` again with nothing changed, each time as a new process, and prints its wall time
(interpreter start and imports included), requests and bytes uploaded:
- "warm": the validation cache remembers every answer (what every run after the first sees);
- "cold": an empty validation cache (every row validated again), for comparison.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
for folder in (REPO, REPO / "benchmarks"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from peers import generate, organizations, publish_catalogue  # noqa: E402


def push(catalogue: Path, env: dict[str, str]) -> tuple[float, dict[str, object]]:
    command = [
        sys.executable,
        "-m",
        "publish",
        "push",
        "--yes",
        "--json",
        "--no-datastore",
        "--catalogue",
        str(catalogue),
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"push exited {done.returncode}: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=50)
    parser.add_argument("--files", type=int, default=3, help="CSVs per dataset")
    parser.add_argument("--rows", type=int, default=3000, help="rows per CSV")
    parser.add_argument("--repeat", type=int, default=3, help="warm reruns (the median is shown)")
    parser.add_argument(
        "--summary", type=Path, help="also write the figures as JSON to this file (benchmarks/goals.py)"
    )
    args = parser.parse_args()
    import ckanapi

    url, token, admin = (os.environ.get(k, "") for k in ("CKAN_URL", "CKAN_API_TOKEN", "CKAN_SYSADMIN_TOKEN"))
    if not (url and token and admin):
        raise SystemExit(
            'needs CKAN_URL, CKAN_API_TOKEN and CKAN_SYSADMIN_TOKEN: eval "$(portal/portal.sh env --sysadmin)"'
        )
    sysadmin = ckanapi.RemoteCKAN(url, apikey=admin)
    editor = ckanapi.RemoteCKAN(url, apikey=token).action.user_show()["name"]
    with tempfile.TemporaryDirectory() as tmp, organizations(sysadmin, editor, ["rerun"]) as orgs:
        work = Path(tmp)
        synthetic = generate(work / "synthetic", args.datasets, args.files, args.rows)
        catalogue = publish_catalogue(synthetic, orgs["rerun"], work / "catalogue")
        size = sum(p.stat().st_size for p in synthetic.files)
        env = {
            **os.environ,
            "PUBLISH_VALIDATION_CACHE": str(work / "validated"),
            "PUBLISH_LOCK_DIR": str(work / "locks"),
        }
        print(
            f"{args.datasets} datasets × {args.files} CSVs × {args.rows} rows ({size / 1e6:.1f} MB): first publish ..."
        )
        first, report = push(catalogue, env)
        print(f"first publish: {first:.1f} s, {report['requests']} requests")
        warm = [push(catalogue, env) for _ in range(args.repeat)]
        cold = push(catalogue, {**env, "PUBLISH_VALIDATION_CACHE": str(work / "empty")})
        if os.environ.get("RERUN_PROFILE"):  # one more warm rerun under cProfile, for where the time goes
            subprocess.run(
                [
                    *(sys.executable, "-m", "cProfile", "-o", os.environ["RERUN_PROFILE"], "-m", "publish", "push"),
                    *("--yes", "--json", "--no-datastore", "--catalogue", str(catalogue)),
                ],
                env=env,
                capture_output=True,
                timeout=600,
            )
    print()
    print("| rerun, nothing changed | wall s (new process) | requests | bytes uploaded |")
    print("|---|--:|--:|--:|")
    seconds = [s for s, _ in warm]
    last = warm[-1][1]
    print(
        f"| warm validation cache (median of {len(warm)}; runs {', '.join(f'{s:.2f}' for s in seconds)}) "
        f"| {statistics.median(seconds):.2f} | {last['requests']} | {last['bytes_uploaded']} |"
    )
    print(f"| cold validation cache | {cold[0]:.2f} | {cold[1]['requests']} | {cold[1]['bytes_uploaded']} |")
    if args.summary:
        figures = {"datasets": args.datasets, "files": args.files, "warm_s": seconds, "requests": last["requests"]}
        figures |= {"bytes_uploaded": last["bytes_uploaded"], "cold_s": cold[0], "cold_requests": cold[1]["requests"]}
        args.summary.write_text(json.dumps({"rerun": figures}))


if __name__ == "__main__":
    main()
