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

import sys
import types
from importlib import import_module
from typing import TYPE_CHECKING, Any

# Where each public name lives. Nothing is imported until it is used, so `import publish.plan`
# (the pure core) loads no HTTP library, and `publish --help` starts without Frictionless or
# ckanapi; pandas is imported only when data is loaded.
_HOME = {
    "Catalogue": "catalogue",
    "Dataset": "catalogue",
    "ResourceSpec": "catalogue",
    "load_catalogue": "catalogue",
    "Problem": "report",
    "Report": "report",
    "validate": "validation",
    "Portal": "portal",
    "connect": "portal",
    "PullResult": "pull",
    "pull": "pull",
    "RunResult": "push",
    "diff": "push",
    "push": "push",
    "load": "loading",
    "load_package": "loading",
}

if TYPE_CHECKING:
    from .catalogue import Catalogue, Dataset, ResourceSpec, load_catalogue
    from .errors import (
        ConfigurationError,
        DataNotFoundError,
        DeclinedError,
        DigestMismatchError,
        InvalidCatalogueError,
        LockHeldError,
        NotCkanError,
        PlanConflictError,
        PortalError,
        PortalRefusedError,
        PublishError,
        TokenRejectedError,
        TooManyDeletesError,
        TransientPortalError,
    )
    from .loading import load, load_package
    from .portal import Portal, connect
    from .pull import PullResult, pull
    from .push import RunResult, diff, push
    from .report import Problem, Report
    from .validation import validate


class _Package(types.ModuleType):
    """``publish.push`` and ``publish.pull`` are the functions, also after their modules of the
    same name are imported (the import system would otherwise bind the module to the name)."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("push", "pull") and isinstance(value, types.ModuleType):
            return  # the module stays in sys.modules ("publish.push"); the package's name is the function
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'publish' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value  # once found, a plain attribute
    return value


__all__ = [
    "Catalogue",
    "ConfigurationError",
    "DataNotFoundError",
    "Dataset",
    "DeclinedError",
    "DigestMismatchError",
    "InvalidCatalogueError",
    "LockHeldError",
    "NotCkanError",
    "PlanConflictError",
    "Portal",
    "PortalError",
    "PortalRefusedError",
    "Problem",
    "PublishError",
    "PullResult",
    "Report",
    "ResourceSpec",
    "RunResult",
    "TokenRejectedError",
    "TooManyDeletesError",
    "TransientPortalError",
    "connect",
    "diff",
    "load",
    "load_catalogue",
    "load_package",
    "pull",
    "push",
    "validate",
]
_HOME.update({name: "errors" for name in __all__ if name.endswith("Error")})  # every exception lives there
