"""One run at a time per portal and organization on this machine (an flock'ed file).

The kernel drops the lock when the holding process dies, so a crashed run never blocks the next.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import json
import os
import socket
import sys
from pathlib import Path
from types import TracebackType
from typing import TextIO

from .errors import ConfigurationError, LockHeldError


def default_lock_dir() -> Path:
    base = os.environ.get("PUBLISH_LOCK_DIR")
    if base:
        return Path(base)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "kalletal-lemgo-publish" / "locks"


class RunLock:
    """Context manager: hold the lock for ``portal`` + ``organization`` or raise LockHeldError."""

    def __init__(
        self, portal: str, organization: str, lock_dir: Path | None = None, *, organization_id: str | None = None
    ) -> None:
        # ``organization_id``: what names the organization on that portal whatever the URL's
        # spelling; without it, the URL (for callers that have not read the portal yet).
        digest = hashlib.sha256(f"{organization_id or portal}\n{organization}".encode()).hexdigest()[:16]
        self.path = (lock_dir or default_lock_dir()) / f"{organization}-{digest}.lock"
        self.portal = portal
        self.organization = organization
        self._handle: TextIO | None = None

    def __enter__(self) -> RunLock:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+")
        except OSError as exc:
            raise ConfigurationError(
                f"cannot use the lock folder {self.path.parent} ({exc.strerror or type(exc).__name__}); "
                "PUBLISH_LOCK_DIR (or XDG_CACHE_HOME) must name a folder this user can write to"
            ) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown holder"
            handle.close()
            raise LockHeldError(
                f"another publish run holds the lock for {self.organization} on {self.portal}: {holder} "
                f"(lock file {self.path}); try again when it has finished"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                    "command": " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)),
                }
            )
        )
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._handle is not None:
            self._handle.seek(0)
            self._handle.truncate()
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
