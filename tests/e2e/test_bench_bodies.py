"""The portal benchmark's baseline (bench.raw_portal) answers byte for byte what Portico answers,
or the benchmark compares Portico with different work. The benchmark checks this before it
measures; this runs the same check (`--rounds 0`) on a small data set, so that a change to
Portico's answers or to the baseline that makes them differ fails the suite instead of the next
benchmark run. The bench starts from the run's migrated template (tests.databases) instead of
migrating from nothing, which tests.test_cli covers."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.databases import TEMPLATE_DATABASE
from tests.e2e.processes import ROOT

REQUESTS = (
    "portal invoices",
    "portal home",
    "staff invoices, small org",
    "staff invoices, big org",
)


def test_portico_and_the_baseline_answer_the_same_bytes(
    backend: str, request: pytest.FixtureRequest
) -> None:
    command = [
        sys.executable, "-m", "bench.documents_vs_raw",
        "--backend", backend, "--big", "100", "--rounds", "0",
    ]  # fmt: skip
    if backend == "postgres":
        server = request.getfixturevalue("postgres_templates").server_url()
        command += ["--postgres-url", server, "--postgres-template", TEMPLATE_DATABASE]
    else:
        command += ["--sqlite-template", str(request.getfixturevalue("templates").sqlite)]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=180)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    for name in REQUESTS:
        assert f"{backend}: bodies equal, {name}: " in result.stdout, output[-4000:]
    assert "next page" in result.stdout
    # It started from the template, which `migrate` found up to date.
    assert f"{backend}: migrations applied: 0\n" in result.stdout
    # Portico ran as production does: the contact's documents count because they are registered.
    assert "gets DOCUMENT_NOT_REGISTERED" in result.stdout
