"""Publish the open-data catalogue of digital.interkommunal Kalletal.Lemgo to CKAN.

The Python API mirrors the ``publish`` command::

    import publish
    catalogue = publish.load_catalogue(".")
    report = publish.validate(catalogue)
    report.valid, report.problems

    portal = publish.Portal("https://…", token=os.environ["CKAN_API_TOKEN"])
    publish.diff(".", portal).to_dict()          # the plan; writes nothing
    result = publish.push(".", portal)           # result.ok, result.requests, result.to_dict()

    publish.pull(["digital-interkommunal-projekte"], portal="https://…", to="pulled")
    frame = publish.load("projects")              # a typed DataFrame, from CKAN_URL
    frames = publish.load_package("digital-interkommunal-projekte")
"""

from typing import Any

from .catalogue import Catalogue, Dataset, ResourceSpec, load_catalogue
from .errors import ConfigurationError, PublishError
from .portal import Portal, PortalError
from .pull import PullResult, pull
from .push import RunResult, diff, push
from .report import Problem, Report
from .validation import validate

_LOADING = ("DataNotFoundError", "load", "load_package")


def __getattr__(name: str) -> Any:
    # pandas is imported only when data is loaded, so the commands start small and fast
    if name in _LOADING:
        from . import loading

        return getattr(loading, name)
    raise AttributeError(f"module 'publish' has no attribute {name!r}")


__all__ = [
    "Catalogue",
    "ConfigurationError",
    "DataNotFoundError",
    "Dataset",
    "Portal",
    "PortalError",
    "Problem",
    "PublishError",
    "PullResult",
    "Report",
    "ResourceSpec",
    "RunResult",
    "diff",
    "load",
    "load_catalogue",
    "load_package",
    "pull",
    "push",
    "validate",
]
