"""Serving and loading over HTTP, for benchmarks that measure what a user sees.

Every side is a uvicorn process started with one list of options (`UVICORN_OPTIONS`), and the
load comes from wrk with a Lua script that sets the method, the headers and the body. Each run
also reports the CPU the server process and wrk used, which tells whether the server was the
bottleneck (near a whole core) and the client was not.
"""

from __future__ import annotations

import contextlib
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.services import free_port

ROOT = Path(__file__).resolve().parents[1]
WRK = "/usr/bin/wrk"
# What `portico serve` hands uvicorn.run (server/cli.py), given to every side alike: one worker,
# the log level, no access log (Portico logs its own request lines), proxy headers, and the body
# limit (1 MiB by default) as the websocket limit.
UVICORN_OPTIONS = (
    "--host",
    "127.0.0.1",
    "--workers",
    "1",
    "--log-level",
    "warning",
    "--no-access-log",
    "--proxy-headers",
    "--ws-max-size",
    "1048576",
)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Server:
    name: str
    base: str
    process: subprocess.Popen

    def cpu_seconds(self) -> float:
        """User and system time of the server process, all of its threads."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


@contextlib.contextmanager
def uvicorn_server(name: str, app: str, env: Mapping[str, str], log: Path) -> Iterator[Server]:
    """`python -m uvicorn <app>` with UVICORN_OPTIONS on a free port, until the block ends."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", app, "--port", str(port), *UVICORN_OPTIONS]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=output, stderr=subprocess.STDOUT
        )
        server = Server(name, f"http://127.0.0.1:{port}", process)
        try:
            wait_until_ready(server, log)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_ready(server: Server, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{server.base}/readyz", timeout=1, trust_env=False).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.name} did not start within 60 s:\n{log.read_text()}")


@dataclass(frozen=True)
class Target:
    """One request, sent over and over: `url` with a bearer token and a JSON body."""

    server: Server
    url: str
    body: bytes
    token: str
    method: str = "POST"


# wrk's own summary is text for people; done() prints the figures on one line for the bench.
LUA = """wrk.method = "{method}"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("FIGURES %d %d %d %d %d %d %d %d %d\\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), e.connect, e.read,
    e.write, e.status, e.timeout))
end
"""


@dataclass(frozen=True)
class Run:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect, read, write and timeouts
    bad_statuses: int  # answers other than 2xx and 3xx
    server_cpu: float  # share of one core
    client_cpu: float

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds

    @property
    def per_cpu_second(self) -> float:
        """Requests per second of the server process's CPU time: less sensitive than throughput
        to how much of the machine other work leaves it (the database server's CPU is not in
        it)."""
        return self.throughput / self.server_cpu


class CrashedRun(RuntimeError):
    pass


def load(
    target: Target, seconds: int, script_dir: Path, connections: int = 16, threads: int = 1
) -> Run:
    """wrk against the target for `seconds` with `connections` kept-alive connections."""
    script = script_dir / f"{abs(hash(target))}.lua"
    if not script.exists():
        script.write_text(
            LUA.format(method=target.method, body=target.body.decode(), token=target.token)
        )
    server_before, client_before = target.server.cpu_seconds(), children_cpu()
    result = subprocess.run(
        [
            WRK,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            target.url,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    server_cpu = target.server.cpu_seconds() - server_before
    client_cpu = children_cpu() - client_before
    line = next((x for x in result.stdout.splitlines() if x.startswith("FIGURES ")), None)
    if line is None:
        raise CrashedRun(f"wrk printed no figures:\n{result.stdout}\n{result.stderr}")
    requests, micros, p50, p99, connect, read, write, status, timeout = map(int, line.split()[1:])
    run = Run(
        requests,
        micros / 1e6,
        p50 / 1000,
        p99 / 1000,
        connect + read + write + timeout,
        status,
        server_cpu / (micros / 1e6),
        client_cpu / (micros / 1e6),
    )
    if run.bad_statuses or target.server.process.poll() is not None:
        raise CrashedRun(f"{target.server.name} {target.url}: {run}")
    if run.requests == 0:
        raise CrashedRun(f"{target.server.name} {target.url}: no answer within {seconds} s")
    return run


def children_cpu() -> float:
    """User and system time of the child processes waited for so far (here: each wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())
