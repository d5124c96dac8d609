"""tests.launcher: a `portico` forked from the launcher behaves as `python -m server` does."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests import launcher
from tests.databases import Templates, portico_env

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "args, overrides",
    [
        (["--version"], {}),
        (["serve", "--help"], {}),
        (["migrate"], {"PORTICO_LOG_LEVEL": "verbose"}),
        (["documents", "list"], {"DATABASE_URL": "mysql://nowhere/portico"}),
    ],
)
def test_a_forked_command_answers_as_one_started_anew(
    args: list[str], overrides: dict[str, str], tmp_path: Path
) -> None:
    env = portico_env(tmp_path, **overrides)
    forked = launcher.run(args, env=env, capture_output=True, text=True, timeout=60)
    started = subprocess.run(
        [sys.executable, "-m", "server", *args],
        env=env, cwd=launcher.ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert (forked.returncode, forked.stdout, forked.stderr) == (
        started.returncode,
        started.stdout,
        started.stderr,
    )


def test_a_forked_command_is_a_child_of_this_process(tmp_path: Path, templates: Templates) -> None:
    """Forked, not started anew (its command line is the launcher's), and this process's own
    child: signals reach it and its exit status comes back."""
    if launcher._launcher() is None:
        pytest.skip("this process cannot be a subreaper here: every command is started anew")
    url = templates.sqlite_copy(tmp_path / "portico.sqlite3")
    env = portico_env(tmp_path, DATABASE_URL=url, PORTICO_OUTBOX_POLL_SECONDS="1")
    worker = launcher.popen(["worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert b"tests.launcher" in Path(f"/proc/{worker.pid}/cmdline").read_bytes()
        parent = Path(f"/proc/{worker.pid}/stat").read_text().rpartition(")")[2].split()[1]
        assert int(parent) == os.getpid()
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.communicate(timeout=20)
    assert worker.returncode == -signal.SIGKILL
