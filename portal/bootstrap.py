"""First-start setup of the local CKAN portal, through CKAN's action API.

Called by portal.sh once CKAN answers, with the sysadmin token in the
environment (CKAN_SYSADMIN_TOKEN). Idempotent: it creates what is missing
  - the organization (name, title, description),
  - the editor user and its editor membership in that organization,
and prints a fresh API token for the editor on stdout (nothing else).
With --org-only it only brings the organization's title and description up to date.
Standard library only, so any Python 3 can run it.
"""

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def call(base, token, action, data):
    req = urllib.request.Request(
        f"{base}/api/3/action/{action}",
        data=json.dumps(data).encode("utf-8"),
        headers={"Content-Type": "application/json", "Authorization": token},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            body = json.load(resp)
    except urllib.error.HTTPError as err:
        try:
            body = json.load(err)
        except ValueError:
            body = {"success": False, "error": {"message": str(err)}}
    return body


def must(base, token, action, data):
    body = call(base, token, action, data)
    if not body.get("success"):
        sys.exit(f"bootstrap: {action} failed: {json.dumps(body.get('error'))}")
    return body["result"]


def exists(base, token, action, ident):
    return bool(call(base, token, action, {"id": ident}).get("success"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--org", required=True)
    ap.add_argument("--org-title", required=True)
    ap.add_argument("--org-description", default="")
    ap.add_argument("--user")
    ap.add_argument("--email")
    ap.add_argument("--token-name", default="portal")
    ap.add_argument("--org-only", action="store_true")
    args = ap.parse_args()
    token = os.environ["CKAN_SYSADMIN_TOKEN"]
    base = args.url.rstrip("/")

    org = {"name": args.org, "title": args.org_title, "description": args.org_description}
    if not exists(base, token, "organization_show", args.org):
        must(base, token, "organization_create", org)
    else:
        must(base, token, "organization_patch", {"id": args.org, **org})
    if args.org_only:
        return
    password = os.environ["PORTAL_EDITOR_PASSWORD"]
    if not exists(base, token, "user_show", args.user):
        must(base, token, "user_create", {"name": args.user, "email": args.email, "password": password})
    must(base, token, "organization_member_create", {"id": args.org, "username": args.user, "role": "editor"})
    result = must(base, token, "api_token_create", {"user": args.user, "name": args.token_name})
    print(result["token"])


if __name__ == "__main__":
    main()
