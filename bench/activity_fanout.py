"""Live activity fan-out: the time from a mutation's commit to its event arriving at every one of
N websocket subscribers, for N = 1, 100 and 1,000, against real `portico serve` processes.

Modes: `single` is one process on SQLite; `redis` is two workers sharing a throwaway PostgreSQL
and a throwaway Redis, half the clients on each (a lone client on the second), every mutation
sent to the first worker. Each client is its own graphql-transport-ws connection in this process.
The clock starts just before the mutation is sent (`occurredAt` is set before the commit), so a
latency is "mutation sent -> event read from one client's socket"; the fan-out time of an event
is when its last client has it. The 100-client run is the baseline of the 1,000-client run:
linear cost per subscriber makes the ratio 10, and the goal allows 12.
    .venv/bin/python -m bench.activity_fanout [--clients 1,100,1000] [--events 20]
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
import re
import resource
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin, Subprotocol

from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.processes import login, portico, portico_env, serve
from tests.services import create_database, postgres_server, redis_server

SUBSCRIPTION = "subscription { portalActivity { cursor node { kind occurredAt } } }"
CURRENT = "{ portalPreferences { activityNotifications } }"
CHANGE = (
    "mutation { updatePortalPreferences(input: {activityNotifications: %s}) { errors { code } } }"
)
SETTINGS = ("BOTH", "EMAIL", "IN_APP", "NONE")  # each event changes the setting, so it records one
PROTOCOL = Subprotocol("graphql-transport-ws")
CONNECT_CONCURRENCY = 50  # handshakes in flight at once while a fleet connects
CONNECT_TIMEOUT = 60.0
DELIVERY_TIMEOUT = 30.0  # per event, until its last client has it
GIVE_UP_AFTER = 3  # incomplete events in a row; the rest would only wait out their timeouts
WARMUP_ATTEMPTS = 5
WARMUP_TIMEOUT = 15.0
SOCKETS_HEADROOM = 512  # servers, databases, logs, the mutation client


# -- processes -----------------------------------------------------------------------------------


@dataclass
class Deployment:
    mode: str
    workers: list[str]  # base URLs; mutations go to the first, clients alternate
    logs: list[Path]


def server_env(var_dir: Path, **overrides: str) -> dict[str, str]:
    return portico_env(var_dir, PORTICO_LOG_LEVEL="WARNING", **overrides)


@contextlib.contextmanager
def single_deployment(tmp: Path) -> Iterator[Deployment]:
    env = server_env(tmp)
    portico("migrate", env=env)
    portico("demo", env=env)
    log = tmp / "serve.log"
    with serve(env, log) as base:
        yield Deployment("single", [base], [log])


@contextlib.contextmanager
def redis_deployment(tmp: Path) -> Iterator[Deployment]:
    with postgres_server() as postgres, redis_server() as redis:
        if postgres is None or redis is None:
            raise SystemExit("mode redis needs PostgreSQL (initdb/pg_ctl) and redis-server")
        database_url = asyncio.run(create_database(postgres, "portico_fanout"))
        env = server_env(tmp, DATABASE_URL=database_url, REDIS_URL=redis.url)
        portico("migrate", env=env)
        portico("demo", env=env)
        logs = [tmp / "serve-1.log", tmp / "serve-2.log"]
        with serve(env, logs[0]) as first, serve(env, logs[1]) as second:
            yield Deployment("redis", [first, second], logs)


def raise_file_limit(clients: int) -> None:
    """Every client is a socket here and in a server (children inherit the limit)."""
    needed = clients + SOCKETS_HEADROOM
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise SystemExit(f"{clients} clients need {needed} open files; the hard limit is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))


# -- subscribers ---------------------------------------------------------------------------------


def seq_of(cursor: str) -> int:
    """An activity cursor is base64url JSON [seq, id]."""
    raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    return int(json.loads(raw)[0])


class Fleet:
    """N subscribed clients, and which of them has received which event (by stream position)."""

    def __init__(self) -> None:
        self.subscribers: list[Subscriber] = []
        self.counts: Counter[int] = Counter()
        self.newest = 0
        self.errors: list[str] = []
        self._complete: defaultdict[int, asyncio.Event] = defaultdict(asyncio.Event)
        self._reached = 0
        self.all_reached = asyncio.Event()

    @property
    def size(self) -> int:
        return len(self.subscribers)

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


class TimedConnection(ClientConnection):
    """Notes when bytes last came in, so an arrival is timed when the socket is read, not when
    this process gets round to the message (a thousand of them arrive at once)."""

    received_at = 0.0

    def data_received(self, data: bytes) -> None:
        self.received_at = time.perf_counter()
        super().data_received(data)


@dataclass
class Subscriber:
    ws: TimedConnection
    worker: int
    fleet: Fleet
    arrivals: dict[int, float] = field(default_factory=dict)
    task: asyncio.Task[None] | None = None

    async def read(self) -> None:
        try:
            async for raw in self.ws:
                self.handle(json.loads(raw), self.ws.received_at)
        except ConnectionClosed as exc:
            self.fleet.errors.append(f"connection closed: {exc}")

    def handle(self, message: dict, now: float) -> None:
        kind = message.get("type")
        if kind == "next" and "data" in message["payload"]:
            seq = seq_of(message["payload"]["data"]["portalActivity"]["cursor"])
            if seq in self.arrivals:
                self.fleet.errors.append(f"event {seq} arrived twice")
                return
            self.arrivals[seq] = now
            self.fleet.delivered(seq, first=len(self.arrivals) == 1)
        elif kind == "ping":
            self.task_send({"type": "pong"})
        else:
            self.fleet.errors.append(f"unexpected message: {json.dumps(message)[:300]}")

    def task_send(self, message: dict) -> None:
        asyncio.get_running_loop().create_task(self.ws.send(json.dumps(message)))


async def open_subscriber(fleet: Fleet, base: str, worker: int, token: str) -> Subscriber:
    url = base.replace("http://", "ws://", 1) + "/graphql"
    ws = await connect(
        url,
        origin=Origin(base),
        subprotocols=[PROTOCOL],
        proxy=None,
        ping_interval=None,  # the server pings; a browser does not either
        open_timeout=CONNECT_TIMEOUT,
        max_queue=None,
        create_connection=TimedConnection,
    )
    assert isinstance(ws, TimedConnection)
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    async with asyncio.timeout(CONNECT_TIMEOUT):
        ack = json.loads(await ws.recv())
    if ack.get("type") != "connection_ack":
        raise RuntimeError(f"expected connection_ack, got {ack}")
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}))
    return Subscriber(ws, worker, fleet)


@contextlib.asynccontextmanager
async def subscribed_fleet(
    workers: Sequence[str], clients: int, token: str
) -> AsyncIterator[Fleet]:
    fleet = Fleet()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(index: int) -> Subscriber:
        worker = (index + 1) % len(workers)  # a lone client listens where the event is not caused
        async with gate:
            return await open_subscriber(fleet, workers[worker], worker, token)

    results = await asyncio.gather(*(one(i) for i in range(clients)), return_exceptions=True)
    fleet.subscribers = [r for r in results if isinstance(r, Subscriber)]
    failures = [r for r in results if not isinstance(r, Subscriber)]
    try:
        if failures:
            raise RuntimeError(f"{len(failures)} of {clients} clients failed: {failures[0]!r}")
        for subscriber in fleet.subscribers:
            subscriber.task = asyncio.create_task(subscriber.read())
        yield fleet
    finally:
        await close_fleet(fleet)


async def close_fleet(fleet: Fleet) -> None:
    for subscriber in fleet.subscribers:
        if subscriber.task is not None:
            subscriber.task.cancel()
    await asyncio.gather(*(s.ws.close() for s in fleet.subscribers), return_exceptions=True)


# -- events --------------------------------------------------------------------------------------


class Mutations:
    """Sends `updatePortalPreferences` changes to one worker; each change records one event."""

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

    async def change(self) -> float:
        """Sends the next change; returns t0, taken right before sending."""
        query = CHANGE % next(self.values)
        t0 = time.perf_counter()
        body = await self.post(query)
        if body.get("errors") or body["data"]["updatePortalPreferences"]["errors"]:
            raise RuntimeError(f"mutation failed: {body}")
        return t0


async def warm_up(fleet: Fleet, mutations: Mutations) -> int:
    """Sends events until every client has one (subscriptions are live); returns the newest seq."""
    for _ in range(WARMUP_ATTEMPTS):
        await mutations.change()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WARMUP_TIMEOUT):
                await fleet.all_reached.wait()
            break
    else:
        raise RuntimeError(f"after {WARMUP_ATTEMPTS} warm-up events, not every client had one")
    newest = fleet.newest
    if not await fleet.wait_complete(newest, WARMUP_TIMEOUT):
        raise RuntimeError(f"warm-up event {newest} did not reach every client")
    return newest


@dataclass
class Result:
    mode: str
    clients: int
    connect_seconds: float
    round_trips: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    by_worker: defaultdict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    fanouts: list[float] = field(default_factory=list)
    missing: int = 0
    bench_cpu: float = 0.0  # cores this process used while measuring (the clients' own cost)


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keeps this process's collector from pausing the clients mid-measurement."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


async def measure(
    fleet: Fleet, mutations: Mutations, after: int, events: int, result: Result
) -> None:
    wall, cpu = time.perf_counter(), time.process_time()
    incomplete = 0
    with frozen_heap():
        for seq in range(after + 1, after + 1 + events):
            complete = await measure_event(fleet, mutations, seq, result)
            incomplete = 0 if complete else incomplete + 1
            if incomplete == GIVE_UP_AFTER:
                break
    result.bench_cpu = (time.process_time() - cpu) / (time.perf_counter() - wall)


async def measure_event(fleet: Fleet, mutations: Mutations, seq: int, result: Result) -> bool:
    t0 = await mutations.change()
    result.round_trips.append(time.perf_counter() - t0)
    complete = await fleet.wait_complete(seq, DELIVERY_TIMEOUT)
    if not complete:
        result.missing += fleet.size - fleet.counts[seq]
    latest = t0
    for subscriber in fleet.subscribers:
        arrival = subscriber.arrivals.get(seq)
        if arrival is not None:
            result.latencies.append(arrival - t0)
            result.by_worker[subscriber.worker].append(arrival - t0)
            latest = max(latest, arrival)
    result.fanouts.append(latest - t0)
    return complete


async def run_clients(deployment: Deployment, clients: int, events: int, token: str) -> Result:
    started = time.perf_counter()
    async with (
        httpx.AsyncClient(timeout=60, trust_env=False) as http,
        subscribed_fleet(deployment.workers, clients, token) as fleet,
    ):
        result = Result(deployment.mode, clients, time.perf_counter() - started)
        mutations = Mutations(http, deployment.workers[0], token)
        await mutations.start()
        await measure(fleet, mutations, await warm_up(fleet, mutations), events, result)
        if fleet.errors:
            raise RuntimeError(f"{len(fleet.errors)} client errors, first: {fleet.errors[0]}")
    return result


def run_mode(mode: str, clients: Sequence[int], events: int) -> list[Result]:
    deploy = single_deployment if mode == "single" else redis_deployment
    results = []
    with (
        tempfile.TemporaryDirectory(prefix=f"portico-fanout-{mode}-") as tmp,
        deploy(Path(tmp)) as deployment,
    ):
        try:
            token = login(deployment.workers[0], ADMIN_EMAIL, ADMIN_PASSWORD)
            for count in clients:
                result = asyncio.run(run_clients(deployment, count, events, token))
                print_row(result)
                results.append(result)
        finally:
            print_server_log(deployment)
    return results


# -- report --------------------------------------------------------------------------------------

HEADER = (
    f"{'mode':<7}{'clients':>8}{'connect s':>11}{'mutation ms':>13}{'p50 ms':>9}{'p99 ms':>9}"
    f"{'max ms':>9}{'fan-out ms':>12}{'missing':>9}{'client cpu':>12}"
)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def print_row(result: Result) -> None:
    lat = result.latencies or [float("nan")]
    print(
        f"{result.mode:<7}{result.clients:>8}{result.connect_seconds:>11.1f}"
        f"{ms(statistics.median(result.round_trips)):>13}{ms(percentile(lat, 0.5)):>9}"
        f"{ms(percentile(lat, 0.99)):>9}{ms(max(lat)):>9}"
        f"{ms(statistics.fmean(result.fanouts)):>12}{result.missing:>9}{result.bench_cpu:>12.2f}",
        flush=True,
    )


def print_server_log(deployment: Deployment) -> None:
    for log in deployment.logs:
        lines = log.read_text(errors="replace").splitlines()
        problems = [line for line in lines if re.search(r"WARNING|ERROR|Traceback", line)]
        if problems:
            print(f"  {log.name}: {len(problems)} warning/error lines, first: {problems[0][:160]}")


def print_summary(results: Sequence[Result]) -> None:
    by_mode: defaultdict[str, dict[int, Result]] = defaultdict(dict)
    for result in results:
        by_mode[result.mode][result.clients] = result
    print()
    for mode, rows in by_mode.items():
        counts = sorted(rows)
        if len(counts) < 2:
            continue
        small, large = rows[counts[-2]], rows[counts[-1]]
        ratio = statistics.fmean(large.fanouts) / statistics.fmean(small.fanouts)
        goal = 1.2 * large.clients / small.clients
        verdict = "PASS" if ratio <= goal else "FAIL"
        added = statistics.fmean(large.fanouts) - statistics.fmean(small.fanouts)
        print(
            f"{mode}: fan-out({large.clients}) / fan-out({small.clients}) = {ratio:.1f}   "
            f"goal <= {goal:g} (no worse than linear)   {verdict}   "
            f"({ms(added / (large.clients - small.clients))} ms per added client)"
        )
        print(
            f"{mode}: p99 at {large.clients} clients = {ms(percentile(large.latencies, 0.99))} ms"
        )
        if len(large.by_worker) > 1:
            split = ", ".join(
                f"worker {w + 1}{' (mutation)' if w == 0 else ''} {ms(statistics.median(v))} ms"
                for w, v in sorted(large.by_worker.items())
            )
            print(f"{mode}: p50 at {large.clients} clients by worker: {split}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", default="1,100,1000", help="comma-separated client counts")
    parser.add_argument("--events", type=int, default=20, help="measured events per client count")
    parser.add_argument("--mode", choices=("single", "redis", "both"), default="both")
    args = parser.parse_args()
    clients = [int(count) for count in args.clients.split(",")]
    raise_file_limit(max(clients))
    modes = ("single", "redis") if args.mode == "both" else (args.mode,)
    print(f"Live activity fan-out, {args.events} events per row")
    print("  latency: mutation sent -> event read by a client; fan-out: mean time until the last")
    print("  client has an event; mutation: its median round trip; client cpu: cores this process")
    print("  (all the clients) used while measuring")
    print(HEADER, flush=True)
    results: list[Result] = []
    for mode in modes:
        results.extend(run_mode(mode, clients, args.events))
    print_summary(results)
    if any(result.missing for result in results):
        raise SystemExit("FAILED: some events never reached some clients")


if __name__ == "__main__":
    main()
