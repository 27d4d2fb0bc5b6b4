"""Reliability trials against the real local CKAN: random faults at 20 % and 40 % (including a
portal slower than the client's timeout), kill -9 at random moments, and two spellings of one
portal at once. Each trial ends with a check through CKAN's API that the portal equals a clean
publish (no duplicate resource, every digest and size equal to the local file, DataStore row
counts equal) and an unchanged rerun with 0 writes in 3 requests.

Bounded: a fixed number of trials, at most MAX_RUNS pushes each, timeouts on every call. Seeds
are printed in the summary; ``CHAOS_SEED=<seed>`` replays a trial.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import ckanapi
import pytest

from tests.integration.fault_proxy import FaultProxy
from tests.integration.publishing import Publisher
from tests.reliability.trials import FIGURES, Figures, compare_with_catalogue, seed_for, unchanged_rerun

FAULT_KINDS = ("502", "502-after", "429", "reset", "reset-after", "hang", "slow-forward")
MAX_RUNS = 8
TIMEOUT = "2"  # the client's read timeout, seconds
HOLD = 2.5  # a held request ("hang", "slow-forward") waits this long: longer than TIMEOUT


def finish(figures: Figures, publisher: Publisher, ckan: ckanapi.RemoteCKAN, catalogue: Path, org: str) -> None:
    """The end of every trial: compare the portal with the catalogue, then an unchanged rerun."""
    time.sleep(HOLD + 1)  # a request still held by the proxy lands before we look
    duplicates, mismatches = compare_with_catalogue(ckan, catalogue, org)
    figures.duplicates, figures.mismatches = duplicates, len(mismatches)
    problems = mismatches + unchanged_rerun(publisher)
    assert duplicates == 0 and not problems, f"seed {figures.seed}: {duplicates} duplicates; {problems}"


def push_until_done(publisher: Publisher, figures: Figures, url: str | None = None) -> None:
    env = {"CKAN_URL": url} if url else None
    for _ in range(MAX_RUNS):
        code, report = publisher.json("push", "--yes", "--timeout", TIMEOUT, env=env)
        figures.runs += 1
        assert code in (0, 3), f"seed {figures.seed}: exit {code}: {report}"
        if code == 0:
            figures.converged = True
            return
    pytest.fail(f"seed {figures.seed}: no convergence after {MAX_RUNS} runs", pytrace=False)


@pytest.mark.parametrize(
    ("name", "rate", "slow_creates"),
    [
        ("faults-20%-a", 0.2, False),
        ("faults-20%-b", 0.2, False),
        ("faults-40%-a", 0.4, False),
        ("faults-40%-b", 0.4, False),
        ("slow-portal+faults-20%", 0.2, True),
    ],
)
def test_random_faults_converge(
    name: str,
    rate: float,
    slow_creates: bool,
    publisher: Publisher,
    catalogue: Path,
    ckan: ckanapi.RemoteCKAN,
    ckan_url: str,
    organization: str,
) -> None:
    figures = Figures(name, seed_for(name))
    FIGURES.append(figures)
    rng = random.Random(figures.seed)

    def schedule(n: int, method: str, path: str) -> str | None:
        if slow_creates and path.endswith(("/resource_create", "/package_create")):
            return "slow-forward"  # every create reaches CKAN only after the client gave up
        return rng.choice(FAULT_KINDS) if rng.random() < rate else None

    proxy = FaultProxy(ckan_url, schedule, hang_seconds=HOLD)
    url = proxy.start()
    try:
        push_until_done(publisher, figures, url)
    finally:
        proxy.stop()
        figures.faults = len(proxy.faults())
    finish(figures, publisher, ckan, catalogue, organization)


@pytest.mark.parametrize("name", ["kill-9-a", "kill-9-b", "kill-9-c"])
def test_kill_9_at_a_random_moment_converges(
    name: str, publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, organization: str
) -> None:
    figures = Figures(name, seed_for(name))
    FIGURES.append(figures)
    rng = random.Random(figures.seed)
    for _ in range(2):  # killed twice, at random moments of a first publish
        run = subprocess.Popen(
            [sys.executable, "-m", "publish", "push", "--yes", "--catalogue", str(catalogue)],
            env={**os.environ, **publisher.env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.5, 5.0))
        run.kill()  # SIGKILL, by the handle of the process this test started
        run.wait(timeout=30)
        figures.runs += 1
        figures.faults += 1
    push_until_done(publisher, figures)
    finish(figures, publisher, ckan, catalogue, organization)


def test_two_spellings_of_one_portal_at_once(
    publisher: Publisher, catalogue: Path, ckan: ckanapi.RemoteCKAN, ckan_url: str, organization: str
) -> None:
    figures = Figures("two-spellings", seed_for("two-spellings"))
    FIGURES.append(figures)
    spellings = [ckan_url, ckan_url.replace("127.0.0.1", "localhost")]
    assert spellings[0] != spellings[1]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "publish", "push", "--yes", "--json", "--catalogue", str(catalogue)],
            env={**os.environ, **publisher.env, "CKAN_URL": url},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for url in spellings
    ]
    codes = sorted(run.wait(timeout=300) for run in runs)
    figures.runs += 2
    # One publishes, the other finds the lock taken (or starts after the first finished).
    assert codes in ([0, 4], [0, 0]), codes
    figures.faults = codes.count(4)
    push_until_done(publisher, figures)
    finish(figures, publisher, ckan, catalogue, organization)
