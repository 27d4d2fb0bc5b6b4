"""One run per portal and organization: the second gets LockHeldError naming the holder."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from publish.errors import ConfigurationError
from publish.lock import LockHeldError, RunLock


def test_second_lock_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    with RunLock("http://127.0.0.1:5000", "org", tmp_path) as held:
        holder = json.loads(held.path.read_text())
        assert holder["pid"] == os.getpid()
        with pytest.raises(LockHeldError, match=f'"pid": {os.getpid()}') as info:
            RunLock("http://127.0.0.1:5000", "org", tmp_path).__enter__()
        assert info.value.exit_code == 4
    # released: the next run gets it
    with RunLock("http://127.0.0.1:5000", "org", tmp_path):
        pass


def test_locks_are_per_portal_and_organization(tmp_path: Path) -> None:
    with RunLock("http://a", "org", tmp_path), RunLock("http://b", "org", tmp_path), RunLock("http://a", "x", tmp_path):
        pass


def test_one_portal_under_two_spellings_is_one_lock(tmp_path: Path) -> None:
    """Keyed on the organization's id on the portal, not on how the URL is written."""
    with RunLock("http://127.0.0.1:5000", "org", tmp_path, organization_id="0f4c-uuid"):
        with pytest.raises(LockHeldError):
            RunLock("http://localhost:5000", "org", tmp_path, organization_id="0f4c-uuid").__enter__()
        with RunLock("http://localhost:5000", "org", tmp_path, organization_id="other-portals-uuid"):
            pass


def test_a_lock_folder_that_is_a_file_is_a_configuration_error(tmp_path: Path) -> None:
    blocker = tmp_path / "locks"
    blocker.write_text("not a folder")
    with pytest.raises(ConfigurationError, match=str(blocker)) as info:
        RunLock("http://127.0.0.1:5000", "org", blocker).__enter__()
    assert info.value.exit_code == 2
