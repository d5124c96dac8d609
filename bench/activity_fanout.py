"""Live activity fan-out: what each websocket subscriber of `portalActivity` adds to the time from
a mutation until the last subscriber has its event, against a minimal broadcaster doing the same.

Real `portico serve` processes and real clients: each client is its own graphql-transport-ws
connection in this process, subscribed with the same document and the same staff login, as
staff dashboards are. Two organizations, one followed by a small fleet (100 clients) and one by
a large fleet (1,000); each event is an admin's `updatePortalPreferences`, which records one
activity. The clock starts just before the mutation is sent; an arrival is when a client's
socket is read; an event's fan-out time is when its last client has it.

The baseline is bench/minimal_broadcaster.py, which shares no code with Portico: Starlette under
uvicorn that encodes one payload of the same shape and sends it to each subscriber in turn, to
a small and a large fleet of the same clients. Whatever the clients, the sockets and this
machine cost shows up on both sides.

Each round sends one event to each of the four fleets, one after the other, so drift affects
all alike; which fleet of a server goes first alternates, as the first event after a pause
costs more. Per round: the ratio fan-out(large) / fan-out(small), and the cost per subscriber,
(fan-out(large) - fan-out(small)) / (large - small); the results are the medians over rounds.
Goals (PASS/FAIL lines): the ratio at most large/small (10: no worse than linear, with the fixed
cost of a mutation it is far less when subscribers are cheap), and at most 0.1 ms per
subscriber. Also prints each fleet's latency percentiles and the load average before and after.
Exits non-zero only when an event never reaches a client, or on a crash.

Modes: `single` is one process on SQLite; `redis` is two workers sharing a throwaway PostgreSQL
and a throwaway Redis, each Portico fleet split between them, every mutation sent to the first.
    .venv/bin/python -m bench.activity_fanout [--clients 100,1000] [--rounds 20]
        [--mode single|redis|both]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import itertools
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from tests.e2e.processes import ROOT, login, portico, portico_env, serve, wait_until_up
from tests.services import create_database, free_port, postgres_server, redis_server

SUBSCRIPTION = "subscription { portalActivity { cursor node { kind occurredAt } } }"
CURRENT = "{ portalPreferences { activityNotifications } }"
CHANGE = (
    "mutation { updatePortalPreferences(input: {activityNotifications: %s}) { errors { code } } }"
)
SETTINGS = ("BOTH", "EMAIL", "IN_APP", "NONE")  # each event changes the setting, so it records one
PASSWORD = "fan-out correct horse"
PROTOCOL = "graphql-transport-ws"
OPCODE_TEXT, OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x1, 0x8, 0x9, 0xA
RATIO_GOAL_SLACK = 1.0  # the ratio may be at most large/small clients
COST_GOAL_MS = 0.1  # per subscriber per event
CONNECT_CONCURRENCY = 50  # handshakes in flight at once while a fleet connects
CONNECT_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 30.0  # per event, until its last client has it
WARMUP_ATTEMPTS = 5
WARMUP_TIMEOUT = 15.0
SOCKETS_HEADROOM = 512  # servers, databases, logs, the mutation clients


class BenchFailed(Exception):
    pass


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Deployment:
    mode: str
    workers: list[str]  # Portico's base URLs; mutations go to the first
    admins: list[str]  # one admin email per organization
    logs: list[Path]


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    return portico_env(
        var_dir, PORTICO_LOG_LEVEL="WARNING", PORTICO_ADMIN_PASSWORD=PASSWORD, **overrides
    )


def seed(env: dict[str, str], organizations: int) -> list[str]:
    """One organization with one admin per fleet, set up as an operator would."""
    portico("migrate", env=env)
    emails = []
    for n in range(organizations):
        email = f"admin@fanout{n}.example"
        names = ("--name", f"Admin {n}", "--organization", f"Fan-out {n}")
        portico("create-admin", "--email", email, *names, "--portal-name", f"fanout{n}", env=env)
        emails.append(email)
    return emails


@contextlib.contextmanager
def single_deployment(tmp: Path, organizations: int) -> Iterator[Deployment]:
    env = server_env(tmp)
    admins = seed(env, organizations)
    log = tmp / "serve.log"
    with serve(env, log) as base:
        yield Deployment("single", [base], admins, [log])


@contextlib.contextmanager
def redis_deployment(tmp: Path, organizations: int) -> Iterator[Deployment]:
    with postgres_server() as postgres, redis_server() as redis:
        if postgres is None or redis is None:
            raise SystemExit("mode redis needs PostgreSQL (initdb/pg_ctl) and redis-server")
        database_url = asyncio.run(create_database(postgres, "portico_fanout"))
        env = server_env(tmp, DATABASE_URL=database_url, REDIS_URL=redis.url)
        admins = seed(env, organizations)
        logs = [tmp / "serve-1.log", tmp / "serve-2.log"]
        with serve(env, logs[0]) as first, serve(env, logs[1]) as second:
            yield Deployment("redis", [first, second], admins, logs)


@contextlib.contextmanager
def minimal_broadcaster(log: Path) -> Iterator[str]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "uvicorn", "bench.minimal_broadcaster:app",
               "--port", str(port), "--log-level", "warning"]  # fmt: skip
    with log.open("wb") as output:
        process = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            wait_until_up(base, process, log)
            yield base
        finally:
            process.terminate()
            process.wait(timeout=30)


def raise_file_limit(sockets: int) -> None:
    """Every client is a socket here and in a server (children inherit the limit)."""
    needed = sockets + SOCKETS_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"{sockets} clients need {needed} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# -- subscribers ---------------------------------------------------------------------------------


def seq_of(cursor: str) -> int:
    """An activity cursor is base64url JSON [seq, id]."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int(json.loads(raw)[0])


class Fleet:
    """N subscribed clients, and which of them has received which event (by stream position)."""

    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.subscribers: list[Subscriber] = []
        self.counts: Counter[int] = Counter()
        self.newest = 0
        self.errors: list[str] = []
        self.connect_seconds = 0.0
        self._complete: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._reached = 0
        self.all_reached = asyncio.Event()

    def delivered(self, seq: int, *, first: bool) -> None:
        if first:
            self._reached += 1
            if self._reached == self.size:
                self.all_reached.set()
        self.newest = max(self.newest, seq)
        self.counts[seq] += 1
        if self.counts[seq] == self.size:
            self._complete[seq].set()

    async def wait_complete(self, seq: int, within: float) -> bool:
        try:
            async with asyncio.timeout(within):
                await self._complete[seq].wait()
        except TimeoutError:
            return False
        return True

    def latest_arrival(self, seq: int, default: float) -> float:
        return max(
            (s.arrivals[seq] for s in self.subscribers if seq in s.arrivals), default=default
        )


class Subscriber(asyncio.Protocol):
    """One graphql-transport-ws client on a socket of its own, doing as little as a client can:
    a thousand of them share this process, and what they cost shows up in every measurement.
    An arrival is timed when its bytes are read from the socket. It speaks the websocket
    protocol (RFC 6455) itself: text frames, pings and close, nothing fragmented."""

    def __init__(self, fleet: Fleet, url: str, token: str | None) -> None:
        self.fleet = fleet
        self.url = urlsplit(url)
        self.token = token
        self.arrivals: dict[int, float] = {}
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.acknowledged: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, self.url.hostname, self.url.port)
        async with asyncio.timeout(CONNECT_TIMEOUT):
            await self.acknowledged
        subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
        self.send(json.dumps(subscribe))

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        target = f"{self.url.path}?{self.url.query}" if self.url.query else self.url.path
        request = (
            f"GET {target} HTTP/1.1\r\nHost: {self.url.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Sec-WebSocket-Protocol: {PROTOCOL}\r\nOrigin: http://{self.url.netloc}\r\n\r\n"
        )
        transport.write(request.encode())

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.upgraded and not self.upgrade():
            return
        while (frame := self.next_frame()) is not None:
            opcode, body = frame
            if opcode == OPCODE_TEXT:
                self.handle(json.loads(body), now)
            elif opcode == OPCODE_PING:
                self.send_frame(OPCODE_PONG, body)
            elif opcode == OPCODE_CLOSE:
                self.fail(f"closed by the server: {body[:2].hex()} {body[2:100]!r}")

    def upgrade(self) -> bool:
        head, found, rest = bytes(self.buffer).partition(b"\r\n\r\n")
        if not found:
            return False
        if not head.startswith(b"HTTP/1.1 101"):
            self.fail(f"handshake refused: {head[:100]!r}")
            return False
        self.upgraded = True
        self.buffer = bytearray(rest)
        payload = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        self.send(json.dumps({"type": "connection_init", "payload": payload}))
        return True

    def next_frame(self) -> tuple[int, bytes] | None:
        """A whole frame from the buffer, if one has arrived (servers do not mask)."""
        buffer = self.buffer
        if len(buffer) < 2:
            return None
        length, start = buffer[1] & 0x7F, 2
        if length >= 126:
            start = 4 if length == 126 else 10
            if len(buffer) < start:
                return None
            length = int.from_bytes(buffer[2:start], "big")
        if len(buffer) < start + length:
            return None
        opcode, body = buffer[0] & 0x0F, bytes(buffer[start : start + length])
        del buffer[: start + length]
        return opcode, body

    def handle(self, message: dict, now: float) -> None:
        kind = message.get("type")
        if kind == "connection_ack":
            self.acknowledged.set_result(None)
        elif kind == "next" and "data" in message["payload"]:
            seq = seq_of(message["payload"]["data"]["portalActivity"]["cursor"])
            if seq in self.arrivals:
                self.fleet.errors.append(f"event {seq} arrived twice")
                return
            self.arrivals[seq] = now
            self.fleet.delivered(seq, first=len(self.arrivals) == 1)
        elif kind == "ping":
            self.send('{"type": "pong"}')
        else:
            self.fleet.errors.append(f"unexpected message: {json.dumps(message)[:300]}")

    def send(self, text: str) -> None:
        self.send_frame(OPCODE_TEXT, text.encode())

    def send_frame(self, opcode: int, body: bytes) -> None:
        """Clients mask what they send (RFC 6455, 5.3)."""
        assert self.transport is not None
        mask = os.urandom(4)
        if len(body) < 126:
            head = bytes([0x80 | opcode, 0x80 | len(body)])
        else:
            head = bytes([0x80 | opcode, 0x80 | 126]) + len(body).to_bytes(2, "big")
        masked = bytes(byte ^ mask[index % 4] for index, byte in enumerate(body))
        self.transport.write(head + mask + masked)

    def fail(self, problem: str) -> None:
        if not self.acknowledged.done():
            self.acknowledged.set_exception(BenchFailed(problem))
        else:
            self.fleet.errors.append(problem)
        self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.acknowledged.done():
            self.acknowledged.set_exception(BenchFailed(f"connection lost: {exc}"))

    def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.close()


async def connect_fleet(fleet: Fleet, urls: Sequence[str], token: str | None) -> None:
    """Clients alternate between `urls`; a lone client listens where events are not caused."""
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    started = time.perf_counter()

    async def one(index: int) -> Subscriber:
        subscriber = Subscriber(fleet, urls[(index + 1) % len(urls)], token)
        async with gate:
            await subscriber.open()
        return subscriber

    results = await asyncio.gather(*(one(i) for i in range(fleet.size)), return_exceptions=True)
    fleet.subscribers = [r for r in results if isinstance(r, Subscriber)]
    failures = [r for r in results if not isinstance(r, Subscriber)]
    if failures:
        raise BenchFailed(f"{len(failures)} of {fleet.size} clients failed: {failures[0]!r}")
    fleet.connect_seconds = time.perf_counter() - started


def close_fleet(fleet: Fleet) -> None:
    for subscriber in fleet.subscribers:
        subscriber.close()


# -- events --------------------------------------------------------------------------------------


class Events(Protocol):
    async def start(self) -> None: ...
    async def send(self, seq: int) -> None: ...


class PorticoEvents:
    """An admin's `updatePortalPreferences` changes, sent to one worker; each records one event."""

    def __init__(self, http: httpx.AsyncClient, base: str, token: str) -> None:
        self.http = http
        self.url = f"{base}/graphql"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.values: Iterator[str] = iter(())

    async def start(self) -> None:
        body = await self.post(CURRENT)
        current = body["data"]["portalPreferences"]["activityNotifications"]
        others = [value for value in SETTINGS if value != current]
        self.values = itertools.cycle([*others, current])

    async def post(self, query: str) -> dict:
        response = await self.http.post(self.url, json={"query": query}, headers=self.headers)
        response.raise_for_status()
        return response.json()

    async def send(self, seq: int) -> None:
        body = await self.post(CHANGE % next(self.values))
        if body.get("errors") or body["data"]["updatePortalPreferences"]["errors"]:
            raise BenchFailed(f"mutation failed: {body}")


class BroadcasterEvents:
    def __init__(self, http: httpx.AsyncClient, base: str, channel: str) -> None:
        self.http = http
        self.url = f"{base}/publish"
        self.channel = channel

    async def start(self) -> None:
        return None

    async def send(self, seq: int) -> None:
        params = {"channel": self.channel, "seq": str(seq)}
        response = await self.http.post(self.url, params=params)
        response.raise_for_status()


@dataclass
class Side:
    """A fleet and what makes its events, with what was measured."""

    server: str  # "Portico" or "broadcaster"
    fleet: Fleet
    events: Events
    next_seq: int = 1
    latencies: list[float] = field(default_factory=list)
    fanouts: list[float] = field(default_factory=list)
    missing: int = 0

    async def fire(self) -> float | None:
        """One event: its fan-out time, or None when some client never had it."""
        seq = self.next_seq
        self.next_seq += 1
        t0 = time.perf_counter()
        await self.events.send(seq)
        complete = await self.fleet.wait_complete(seq, DELIVERY_TIMEOUT)
        if not complete:
            self.missing += self.fleet.size - self.fleet.counts[seq]
        for subscriber in self.fleet.subscribers:
            if seq in subscriber.arrivals:
                self.latencies.append(subscriber.arrivals[seq] - t0)
        fanout = self.fleet.latest_arrival(seq, t0) - t0
        self.fanouts.append(fanout)
        return fanout if complete else None

    async def warm_up(self) -> None:
        """Sends events until every client has one: the subscriptions are live."""
        await self.events.start()
        for _ in range(WARMUP_ATTEMPTS):
            await self.events.send(self.next_seq)
            self.next_seq += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(WARMUP_TIMEOUT):
                    await self.fleet.all_reached.wait()
                break
        else:
            raise BenchFailed(
                f"{self.name}: after {WARMUP_ATTEMPTS} events, not every client had one"
            )
        newest = self.fleet.newest
        if not await self.fleet.wait_complete(newest, WARMUP_TIMEOUT):
            raise BenchFailed(f"{self.name}: warm-up event {newest} did not reach every client")
        # Portico numbers its events itself, one per mutation.
        self.next_seq = newest + 1

    @property
    def name(self) -> str:
        return f"{self.server} x {self.fleet.size}"


@dataclass
class Pair:
    """A small and a large fleet of one server, and the per-round figures comparing them."""

    small: Side
    large: Side
    ratios: list[float] = field(default_factory=list)
    costs: list[float] = field(default_factory=list)  # seconds per subscriber per event

    async def measure(self, *, large_first: bool) -> None:
        """One event to each fleet. The first event after a pause is slower (the server was
        idle while the other one worked), so rounds alternate which fleet goes first."""
        if large_first:
            large = await self.large.fire()
            small = await self.small.fire()
        else:
            small = await self.small.fire()
            large = await self.large.fire()
        if small is None or large is None:
            return
        self.ratios.append(large / small)
        self.costs.append((large - small) / (self.large.fleet.size - self.small.fleet.size))


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keeps this process's collector from pausing the clients mid-measurement."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def run_mode(deployment: Deployment, broadcaster: str, sizes: Sequence[int], rounds: int):
    small, large = sizes
    tokens = [login(deployment.workers[0], admin, PASSWORD) for admin in deployment.admins]
    portico_urls = [f"{base.replace('http://', 'ws://', 1)}/graphql" for base in deployment.workers]
    ws_broadcaster = broadcaster.replace("http://", "ws://", 1)
    async with httpx.AsyncClient(timeout=60, trust_env=False) as http:
        pairs = [
            Pair(
                Side("Portico", Fleet("portico-small", small),
                     PorticoEvents(http, deployment.workers[0], tokens[0])),
                Side("Portico", Fleet("portico-large", large),
                     PorticoEvents(http, deployment.workers[0], tokens[1])),
            ),
            Pair(
                Side("broadcaster", Fleet("baseline-small", small),
                     BroadcasterEvents(http, broadcaster, "small")),
                Side("broadcaster", Fleet("baseline-large", large),
                     BroadcasterEvents(http, broadcaster, "large")),
            ),
        ]  # fmt: skip
        portico_pair, baseline_pair = pairs
        sides = [side for pair in pairs for side in (pair.small, pair.large)]
        try:
            await connect_fleet(portico_pair.small.fleet, portico_urls, tokens[0])
            await connect_fleet(portico_pair.large.fleet, portico_urls, tokens[1])
            await connect_fleet(
                baseline_pair.small.fleet, [f"{ws_broadcaster}/graphql?channel=small"], None
            )
            await connect_fleet(
                baseline_pair.large.fleet, [f"{ws_broadcaster}/graphql?channel=large"], None
            )
            for side in sides:
                await side.warm_up()
            with frozen_heap():
                for round_number in range(rounds):
                    for pair in pairs:
                        await pair.measure(large_first=round_number % 2 == 1)
            errors = [error for side in sides for error in side.fleet.errors]
            if errors:
                raise BenchFailed(f"{len(errors)} client errors, first: {errors[0]}")
        finally:
            for side in sides:
                close_fleet(side.fleet)
    return pairs


# -- report --------------------------------------------------------------------------------------

HEADER = (
    f"{'mode':<7}{'server':<13}{'clients':>8}{'connect s':>11}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'max ms':>9}{'fan-out ms':>12}{'missing':>9}"
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values) or [float("nan")]
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_side(mode: str, side: Side) -> None:
    lat = side.latencies
    print(
        f"{mode:<7}{side.server:<13}{side.fleet.size:>8}{side.fleet.connect_seconds:>11.1f}"
        f"{ms(percentile(lat, 0.5)):>9}{ms(percentile(lat, 0.99)):>9}"
        f"{ms(max(lat, default=float('nan'))):>9}"
        f"{ms(statistics.median(side.fanouts)):>12}{side.missing:>9}",
        flush=True,
    )


def print_summary(mode: str, pairs: Sequence[Pair]) -> None:
    portico_pair, baseline_pair = pairs
    small, large = portico_pair.small.fleet.size, portico_pair.large.fleet.size
    goal = RATIO_GOAL_SLACK * large / small
    rounds = len(portico_pair.ratios)
    if not rounds or not baseline_pair.costs:
        print(f"{mode}: no round completed on both fleets   FAIL")
        return
    ratio = statistics.median(portico_pair.ratios)
    cost = statistics.median(portico_pair.costs)
    floor = statistics.median(baseline_pair.costs)
    floor_ratio = statistics.median(baseline_pair.ratios)
    print(
        f"{mode}: fan-out({large}) / fan-out({small}) = {ratio:.1f} (median of {rounds} rounds; "
        f"minimal broadcaster {floor_ratio:.1f})   goal <= {goal:g}   "
        f"{'PASS' if ratio <= goal else 'FAIL'}"
    )
    print(
        f"{mode}: cost per subscriber per event = {cost * 1000:.3f} ms (minimal broadcaster "
        f"{floor * 1000:.3f} ms)   goal <= {COST_GOAL_MS:g} ms   "
        f"{'PASS' if cost * 1000 <= COST_GOAL_MS else 'FAIL'}"
    )


def print_server_log(logs: Sequence[Path]) -> None:
    for log in logs:
        lines = log.read_text(errors="replace").splitlines()
        problems = [line for line in lines if re.search(r"WARNING|ERROR|Traceback", line)]
        if problems:
            print(f"  {log.name}: {len(problems)} warning/error lines, first: {problems[0][:160]}")


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def measure_mode(mode: str, sizes: Sequence[int], rounds: int) -> bool:
    """Prints the mode's rows and summary; False when an event never reached a client."""
    deploy = single_deployment if mode == "single" else redis_deployment
    with tempfile.TemporaryDirectory(prefix=f"portico-fanout-{mode}-") as tmp:
        broadcaster_log = Path(tmp) / "broadcaster.log"
        with (
            deploy(Path(tmp), organizations=2) as deployment,
            minimal_broadcaster(broadcaster_log) as broadcaster,
        ):
            try:
                pairs = asyncio.run(run_mode(deployment, broadcaster, sizes, rounds))
            finally:
                print_server_log([*deployment.logs, broadcaster_log])
    for pair in pairs:
        print_side(mode, pair.small)
        print_side(mode, pair.large)
    print_summary(mode, pairs)
    return not any(side.missing for pair in pairs for side in (pair.small, pair.large))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="100,1000", help="small,large fleet sizes")
    parser.add_argument("--rounds", type=int, default=20, help="events per fleet")
    parser.add_argument("--mode", choices=("single", "redis", "both"), default="both")
    args = parser.parse_args()
    sizes = [int(count) for count in args.clients.split(",")]
    if len(sizes) != 2 or not 0 < sizes[0] < sizes[1]:
        raise SystemExit("--clients takes two sizes, small,large")
    raise_file_limit(2 * sum(sizes))
    modes = ("single", "redis") if args.mode == "both" else (args.mode,)
    print(f"Live activity fan-out, {args.rounds} rounds, {os.cpu_count()} CPUs")
    print(f"  subscription: {SUBSCRIPTION}")
    print("  latency: mutation (or publish) sent -> event read by a client; fan-out: median time")
    print("  until the last client of the fleet has an event")
    print(f"  load average before: {load_average()}", flush=True)
    print(HEADER, flush=True)
    delivered = True
    try:
        for mode in modes:
            delivered = measure_mode(mode, sizes, args.rounds) and delivered
    except BenchFailed as exc:
        raise SystemExit(f"FAILED: {exc}") from None
    print(f"load average after: {load_average()}")
    if not delivered:
        raise SystemExit("FAILED: some events never reached some clients")


if __name__ == "__main__":
    main()
