"""Publish a synthetic catalogue with frictionless-py's CKAN portal, one `Package.publish` per dataset.

Runs inside frictionless' own venv (benchmarks/peers.py starts it there); imports nothing from
this repository. Reads the packages from a JSON file written by peers.py (a list of
``{"basepath": ..., "descriptor": ...}``), the portal URL and organization from the arguments, and
the API token from CKAN_API_TOKEN (never printed). Prints one JSON line per dataset:
``{"dataset": name, "error": null | "first 300 characters of the error"}``. Exit 0 when every
dataset was published, 3 when some failed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from frictionless import Package
from frictionless.portals import CkanControl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("packages", help="JSON file: list of {basepath, descriptor}")
    parser.add_argument("--portal", required=True)
    parser.add_argument("--organization", required=True)
    parser.add_argument("--allow-update", action="store_true", help="CkanControl(allow_update=True)")
    args = parser.parse_args()
    with open(args.packages, encoding="utf-8") as handle:
        packages = json.load(handle)
    failed = 0
    for item in packages:
        name = item["descriptor"]["name"]
        control = CkanControl(
            baseurl=args.portal,
            apikey=os.environ["CKAN_API_TOKEN"],
            organization_name=args.organization,
            allow_update=args.allow_update,
        )
        error = None
        try:
            Package(item["descriptor"], basepath=item["basepath"]).publish(args.portal, control=control)
        except Exception as exc:  # report every failure and go on, as a user's loop would
            error = " ".join(str(exc).split())[:300]
            failed += 1
        print(json.dumps({"dataset": name, "error": error}), flush=True)
    sys.exit(3 if failed else 0)


if __name__ == "__main__":
    main()
