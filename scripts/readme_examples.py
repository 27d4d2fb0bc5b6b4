"""Real runs of the commands for the README's examples (run by cog: `make readme`).

`make readme` rewrites the README's generated blocks from what the commands print now;
tests/test_readme.py fails when the README differs from that (`cog --check`), so the examples
cannot drift from the code. Only commands that need no portal are generated here; the portal
examples (diff, push, pull) are real runs pasted by hand and say so.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from publish.cli import main

REPO = Path(__file__).resolve().parent.parent
MINIMAL = REPO / "tests" / "fixtures" / "catalogues" / "minimal"


def run(args: list[str], shown: str | None = None) -> str:
    """``$ publish ARGS`` and what it printed (stdout and stderr), as a person sees it."""
    env = {"CKAN_URL": "", "CKAN_API_TOKEN": "", "COLUMNS": "100"}
    result = CliRunner().invoke(main, args, env=env, terminal_width=100, prog_name="publish")
    return f"$ publish {shown or ' '.join(args)}\n{result.output.rstrip()}"


def block(text: str, language: str = "") -> None:
    import cog  # provided by cog while it runs

    cog.outl(f"```{language}\n{text}\n```")


@contextmanager
def broken_catalogue() -> Iterator[Path]:
    """The small fixture catalogue with three mistakes a steward makes."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cat"
        shutil.copytree(MINIMAL, root, symlinks=True)
        partners = root / "datasets/partners/datapackage.yaml"
        partners.write_text(partners.read_text(encoding="utf-8").replace("themes: [GOVE, REGI]", "themes: []"))
        links = root / "datasets/projects/project_partners.csv"
        links.write_text(links.read_text(encoding="utf-8").replace("institut-b", "unbekannt", 1))
        projects = root / "datasets/projects/projects.csv"
        projects.write_text(projects.read_text(encoding="utf-8").replace(",umgesetzt,", ",fertig,", 1))
        yield root


def validate_valid() -> None:
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        block(run(["validate"]))
    finally:
        os.chdir(cwd)


def validate_invalid(as_json: bool = False) -> None:
    with broken_catalogue() as root:
        args = ["validate", "--catalogue", str(root)] + (["--json"] if as_json else [])
        shown = "validate --catalogue /tmp/cat" + (" --json" if as_json else "")
        text = run(args, shown)
    block(text.replace(str(root), "/tmp/cat"), "json" if as_json else "")


def help_of(command: str | None = None) -> None:
    args = ([command] if command else []) + ["--help"]
    block(run(args))
