"""`portico` processes for the tests, forked from a process that has imported Portico already.

A `python -m server ...` costs its imports before it does anything: about two seconds of CPU
until `portico serve` is ready, most of it importing strawberry, Tortoise and Portico's schema;
the tests start about a hundred. Each pytest-xdist worker starts one launcher (`python -m
tests.launcher`), which imports them once and forks a child per command. The child takes the
command's environment, working directory and standard streams and runs `server/__main__.py` as
`python -m server` does, exit status and tracebacks included.

The worker is its descendants' subreaper (PR_SET_CHILD_SUBREAPER): the launcher forks twice and
lets the middle process exit, so each command's process becomes the worker's own child, and
`subprocess.Popen`'s pid, wait, poll, signals and return code work as for any other.

An environment that changes how Python itself starts (a `PYTHON*` variable, the locale) gets a
process of its own through `exec`, as do the tests of what processes import
(tests/test_start_up.py), which never come here.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import json
import os
import runpy
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PORTICO = [sys.executable, "-m", "server"]
PR_SET_CHILD_SUBREAPER = 36
# What Python reads from the environment as it starts, and what prometheus_client reads as it
# is imported.
STARTUP_VARIABLES = (
    "PYTHON",
    "LC_",
    "LANG",
    "PROMETHEUS_MULTIPROC_DIR",
    "prometheus_multiproc_dir",
)


def popen(args: Sequence[str], **kwargs: Any) -> subprocess.Popen:
    """`subprocess.Popen` of `portico *args`, as `[sys.executable, "-m", "server", *args]`."""
    return _Forked([*PORTICO, *args], **{"cwd": ROOT, **kwargs})


def run(
    args: Sequence[str],
    *,
    input: str | bytes | None = None,
    timeout: float | None = None,
    check: bool = False,
    capture_output: bool = False,
    **kwargs: Any,
) -> subprocess.CompletedProcess:
    """`subprocess.run` of `portico *args`."""
    if capture_output:
        kwargs |= {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    with popen(args, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(input, timeout=timeout)
        except BaseException:
            process.kill()
            raise
        returncode = process.wait()
    if check and returncode:
        raise subprocess.CalledProcessError(returncode, process.args, stdout, stderr)
    return subprocess.CompletedProcess(process.args, returncode, stdout, stderr)


class _Forked(subprocess.Popen):
    def _execute_child(  # type: ignore[override]
        self, args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
        creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite, *rest,
    ) -> None:  # fmt: skip
        environment = dict(os.environ if env is None else env)
        forkable = not (preexec_fn or pass_fds or shell) and _forkable(environment)
        if not (forkable and (launcher := _launcher())):
            super()._execute_child(
                args, executable, preexec_fn, close_fds, pass_fds, cwd, env, startupinfo,
                creationflags, shell, p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite,
                *rest,
            )  # fmt: skip
            return
        try:
            given = (p2cread, c2pwrite, errwrite)  # -1: this process's own
            streams = [own if fd == -1 else fd for own, fd in enumerate(given)]
            directory = os.fspath(cwd or os.getcwd())
            self.pid = launcher.fork(list(args), directory, environment, streams)
            self._child_created = True
        finally:
            self._close_pipe_fds(p2cread, p2cwrite, c2pread, c2pwrite, errread, errwrite)


def _forkable(env: Mapping[str, str]) -> bool:
    def startup(variables: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in variables.items() if k.startswith(STARTUP_VARIABLES)}

    return startup(env) == startup(_LAUNCHER_ENVIRONMENT)


class _Launcher:
    """This worker's launcher process and the socket to it."""

    def __init__(self) -> None:
        self._socket, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.launcher", str(theirs.fileno())],
            cwd=ROOT,
            env=_LAUNCHER_ENVIRONMENT,
            stdin=subprocess.DEVNULL,
            pass_fds=[theirs.fileno()],
        )
        theirs.close()
        self._lock = threading.Lock()

    def fork(self, argv: list[str], cwd: str, env: dict[str, str], streams: list[int]) -> int:
        request = json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode()
        with self._lock:
            socket.send_fds(self._socket, [request], streams)
            answer = json.loads(self._socket.recv(1 << 16) or b'{"error": "launcher gone"}')
        if "error" in answer:
            raise OSError(f"the launcher could not start {argv}: {answer['error']}")
        return answer["pid"]

    def close(self) -> None:
        self._socket.close()
        self._process.wait(timeout=30)


# The worker's environment as the launcher started with it, its launcher, and whether it has none.
_LAUNCHER_ENVIRONMENT = dict(os.environ)
_launcher_lock = threading.Lock()
_the_launcher: _Launcher | None = None
_no_launcher = False


def _launcher() -> _Launcher | None:
    """This worker's launcher, started on first use; None where this process cannot be a
    subreaper (not Linux, or a sandbox that forbids it), where every command gets a process of
    its own."""
    global _the_launcher, _no_launcher
    with _launcher_lock:
        if _the_launcher is None and not _no_launcher:
            if _become_subreaper():
                _the_launcher = _Launcher()
                atexit.register(_the_launcher.close)
            else:
                _no_launcher = True
        return _the_launcher


def _become_subreaper() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


# The launcher process.


def _serve(connection: socket.socket) -> dict[str, Any]:
    """Forks a child per request; returns only in a child, with its request."""
    while True:
        message, streams, _, _ = socket.recv_fds(connection, 1 << 20, 3)
        if not message:
            sys.exit(0)  # the worker is gone
        request = json.loads(message)
        try:
            pid = _fork_twice()
        except OSError as error:
            connection.send(json.dumps({"error": str(error)}).encode())
            continue
        if pid == 0:
            connection.close()
            request["streams"] = streams
            return request
        for stream in streams:
            os.close(stream)
        connection.send(json.dumps({"pid": pid}).encode())


def _fork_twice() -> int:
    """The grandchild's pid in the launcher, once the middle process has exited (so that the
    grandchild is the subreaper's); 0 in the grandchild."""
    sys.stdout.flush()
    sys.stderr.flush()
    read_end, write_end = os.pipe()
    middle = os.fork()
    if middle == 0:
        os.close(read_end)
        child = os.fork()
        if child == 0:
            os.close(write_end)
            return 0
        os.write(write_end, str(child).encode())
        os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as reader:
        told = reader.read()
    os.waitpid(middle, 0)
    if not told:
        raise OSError("fork failed")
    return int(told)


def _become(request: dict[str, Any]) -> None:
    """This process as if `exec` had started the request's command."""
    for target, stream in enumerate(request["streams"]):
        os.dup2(stream, target)
    for stream in set(request["streams"]):
        if stream > 2:
            os.close(stream)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()
    sys.argv = request["argv"][2:]  # after "python -m"


def _preload() -> None:
    # What every `portico` command imports on its way; none of it reads the environment.
    import server.app
    import server.cli
    import server.migrations  # noqa: F401


def _run_as_main() -> int:
    """`python -m server`, as the interpreter runs it, to its exit status; without the
    interpreter's teardown after it, which would free every preloaded object one by one."""
    try:
        runpy.run_module("server", run_name="__main__", alter_sys=True)
        status = 0
    except SystemExit as exit:
        status = _exit_status(exit.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    threading._shutdown()  # type: ignore[attr-defined]  # the interpreter's first step at exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return status


def _exit_status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    _preload()
    if threading.active_count() != 1:
        raise RuntimeError("a preloaded module started a thread, which a fork would not copy")
    # Collections in the children would write to every preloaded object, copying their pages.
    gc.freeze()
    _become(_serve(socket.socket(fileno=int(sys.argv[1]))))
    os._exit(_run_as_main())
