"""Every exception this package raises on purpose, and the exit code each one means.

Exit codes, one meaning each (the command line and its --help use these names):
0 done (also: nothing to do), 1 the data is invalid (nothing was written), 2 usage or
configuration error, 3 portal error (some actions failed; rerunning is safe), 4 another run
holds the lock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .report import Report

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_PORTAL, EXIT_LOCKED = 0, 1, 2, 3, 4


class PublishError(Exception):
    """Base class of the errors this package raises on purpose."""

    exit_code = EXIT_USAGE


# -- 2: usage and configuration


class ConfigurationError(PublishError):
    """Usage or configuration is wrong (no catalogue there, bad option): exit code 2."""

    exit_code = EXIT_USAGE


class TokenRejectedError(ConfigurationError):
    """CKAN_API_TOKEN is set, but the portal does not know it: exit code 2."""


class NotCkanError(ConfigurationError):
    """The URL answers, but not like CKAN's Action API: exit code 2 (check --portal / CKAN_URL)."""


class PlanConflictError(PublishError):
    """The portal holds something with our name that this tool did not make: exit 2."""

    exit_code = EXIT_USAGE


class DeclinedError(PublishError):
    """The person at the terminal did not confirm the plan: exit 2, nothing written."""

    exit_code = EXIT_USAGE


class TooManyDeletesError(PublishError):
    """The plan deletes more than ``max_deletes`` allows: exit 2, nothing written."""

    exit_code = EXIT_USAGE


class DataNotFoundError(PublishError, LookupError):
    """No dataset or resource by that name (or more than one): exit code 2."""

    exit_code = EXIT_USAGE


# -- 1: invalid data


class InvalidCatalogueError(PublishError):
    """The catalogue is invalid (or asks for what the portal cannot take): exit 1, nothing written."""

    exit_code = EXIT_INVALID

    def __init__(self, report: Report) -> None:
        super().__init__(f"the catalogue is invalid: {len(report.problems)} problem(s); nothing was written")
        self.report = report


# -- 3: the portal


class PortalError(PublishError):
    """A request to the portal failed; exit code 3 (rerunning is safe).

    ``status``: the HTTP status of the portal's answer, when there was one and it tells the
    failure (a 5xx); None otherwise.
    """

    exit_code = EXIT_PORTAL

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class TransientPortalError(PortalError):
    """A failure that may have been temporary (timeout, reset, 5xx) and outlived its retries."""


class PortalRefusedError(PortalError):
    """CKAN answered with an error of its own (validation, authorization, not found)."""

    def __init__(self, message: str, kind: str) -> None:
        super().__init__(message)
        self.kind = kind


class DigestMismatchError(PortalError):
    """A downloaded file is not what the portal says it is (sha256 or size): exit 3, not kept."""


# -- 4: the lock


class LockHeldError(PublishError):
    """Another run holds the lock: exit code 4."""

    exit_code = EXIT_LOCKED
