"""A small GraphQL query's latency while people log in, against the same query with nobody
logging in.

A login checks its password with argon2id at the production cost (server/settings.py's
defaults: 3 passes over 64 MiB), a tenth of a second or more of CPU by design. That must never
hold up anyone else's request. One `portico serve` (uvicorn, one worker, SQLite) in a temporary
directory, seeded as an operator would (`portico migrate`, then `portico create-admin` once per
login client); this process is its HTTP client:
  - idle: `{ viewer { ... } }` with a staff bearer token, one request at a time
  - under load: the same, while --clients clients log in with the right password without pause
    (each as its own staff user, so no rate limit applies; every answer must carry a token)
Idle and loaded blocks of --seconds alternate, --rounds of each, so that drift affects both
alike; after the clients start, the first half second is not measured, and after they stop,
their logins under way finish before the next idle block. Each round's figure is its loaded p99
over its idle p99; the result is the median of the rounds' figures. Goal: at most 2 (PASS/FAIL
line). Also prints p50, p99 and max of both sides, logins per second and their latency, and the
load average before and after. Exits non-zero only when a login or a query fails.
    .venv/bin/python -m bench.login_load [--seconds 4] [--rounds 5] [--clients 4]
  --seconds  length of each idle and each loaded block (after 20 warm-up queries)
  --rounds   idle/loaded block pairs
  --clients  concurrent clients logging in
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from server.settings import Settings
from tests.e2e.processes import portico, portico_env, serve

QUERY = "{ viewer { __typename ... on StaffUser { email } } }"
LOGIN = """mutation($email: String!, $password: String!) {
  login(input: {email: $email, password: $password}) { token errors { code } } }"""
PASSWORD = "load-test correct horse"
GOAL = 2.0  # p99 while logins run / idle p99, median over rounds
WARMUP = 20
RAMP_SECONDS = 0.5


class BenchFailed(Exception):
    pass


# -- the server ----------------------------------------------------------------------------------


def server_environment(var_dir: Path) -> dict[str, str]:
    """Production's password cost, not the tests' cheap one."""
    return portico_env(
        var_dir,
        PORTICO_ARGON2_TIME_COST=str(Settings.argon2_time_cost),
        PORTICO_ARGON2_MEMORY_KIB=str(Settings.argon2_memory_kib),
        PORTICO_LOG_LEVEL="WARNING",
        PORTICO_ADMIN_PASSWORD=PASSWORD,
    )


def seed(env: dict[str, str], clients: int) -> list[str]:
    """One organization and admin per login client, and one for the measured query."""
    portico("migrate", env=env)
    emails = []
    for n in range(clients + 1):
        email = f"admin{n}@load{n}.example"
        portico("create-admin", "--email", email, "--name", f"Admin {n}",
                "--organization", f"Load {n}", "--portal-name", f"load{n}", env=env)  # fmt: skip
        emails.append(email)
    return emails


# -- measuring -----------------------------------------------------------------------------------


@dataclass
class Timing:
    latencies: list[float] = field(default_factory=list)

    def percentile(self, fraction: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def log_in(http: httpx.AsyncClient, email: str) -> str:
    variables = {"email": email, "password": PASSWORD}
    response = await http.post("/graphql", json={"query": LOGIN, "variables": variables})
    http.cookies.clear()  # every login starts from nothing, like a new browser
    result = response.json().get("data", {}).get("login") if response.is_success else None
    if not result or not result["token"]:
        raise BenchFailed(f"a login failed: {response.status_code} {response.text[:300]}")
    return result["token"]


@dataclass
class Logins:
    """Clients that log in without pause while `running` is set."""

    url: str
    emails: list[str]
    running: bool = False
    timing: Timing = field(default_factory=Timing)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def client(self, email: str) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=120, trust_env=False) as http:
            while self.running:
                started = time.perf_counter()
                await log_in(http, email)
                self.timing.latencies.append(time.perf_counter() - started)

    def start(self) -> None:
        self.running = True
        self.tasks = [asyncio.create_task(self.client(email)) for email in self.emails]

    async def stop(self) -> None:
        """Returns once the logins under way have finished, so none weighs on an idle block."""
        self.running = False
        await asyncio.gather(*self.tasks)


async def measure(
    http: httpx.AsyncClient, token: str, timing: Timing, *, seconds: float = 0, rounds: int = 0
) -> None:
    """The query, one request at a time, for `seconds` or `rounds`."""
    headers = {"Authorization": f"Bearer {token}"}
    gc.collect()
    deadline = time.perf_counter() + seconds
    done = 0
    while done < rounds or time.perf_counter() < deadline:
        started = time.perf_counter()
        response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
        timing.latencies.append(time.perf_counter() - started)
        if response.status_code != 200 or not (response.json().get("data") or {}).get("viewer"):
            raise BenchFailed(f"the query failed: {response.status_code} {response.text[:300]}")
        done += 1


@dataclass
class Outcome:
    idle: Timing
    loaded: Timing
    logins: Timing
    ratios: list[float]
    logins_per_second: float


async def run(url: str, emails: list[str], args: argparse.Namespace) -> Outcome:
    async with httpx.AsyncClient(base_url=url, timeout=120, trust_env=False) as http:
        token = await log_in(http, emails[0])
        logins = Logins(url, emails[1:])
        await measure(http, token, Timing(), rounds=WARMUP)
        idle, loaded, ratios = Timing(), Timing(), []
        loaded_seconds, measured_logins = 0.0, 0
        for _ in range(args.rounds):
            idle_round, loaded_round = Timing(), Timing()
            await measure(http, token, idle_round, seconds=args.seconds)
            logins.start()
            await asyncio.sleep(RAMP_SECONDS)
            before, started = len(logins.timing.latencies), time.perf_counter()
            await measure(http, token, loaded_round, seconds=args.seconds)
            loaded_seconds += time.perf_counter() - started
            measured_logins += len(logins.timing.latencies) - before
            await logins.stop()
            ratios.append(loaded_round.percentile(0.99) / idle_round.percentile(0.99))
            idle.latencies += idle_round.latencies
            loaded.latencies += loaded_round.latencies
        return Outcome(idle, loaded, logins.timing, ratios, measured_logins / loaded_seconds)


# -- report --------------------------------------------------------------------------------------


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def print_outcome(outcome: Outcome, args: argparse.Namespace) -> None:
    print(f"{'side':<24}{'n':>6}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}")
    sides = (("idle", outcome.idle), (f"{args.clients} clients logging in", outcome.loaded))
    for name, timing in sides:
        print(
            f"{name:<24}{len(timing.latencies):>6}{timing.percentile(0.5) * 1000:>10.2f}"
            f"{timing.percentile(0.99) * 1000:>10.2f}{max(timing.latencies) * 1000:>10.2f}"
        )
    logins = outcome.logins
    print(
        f"\nLogins: {len(logins.latencies)}, about {outcome.logins_per_second:.1f}/s while "
        f"measured, latency p50 {logins.percentile(0.5) * 1000:.0f} ms, "
        f"p99 {logins.percentile(0.99) * 1000:.0f} ms"
    )
    print("per-round p99 ratios: " + " ".join(f"{ratio:.2f}" for ratio in outcome.ratios))
    ratio = statistics.median(outcome.ratios)
    verdict = "PASS" if ratio <= GOAL else "FAIL"
    print(f"sqlite: GraphQL p99 while logging in / idle p99 = {ratio:.2f}x (median of "
          f"{len(outcome.ratios)} rounds)   goal <= {GOAL:g}x   {verdict}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4, help="length of each block")
    parser.add_argument("--rounds", type=int, default=5, help="idle/loaded block pairs")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients logging in")
    args = parser.parse_args()
    print("A small GraphQL query, idle and while people log in, alternating blocks, SQLite")
    print(f"  {args.rounds} x {args.seconds:g} s per side; {args.clients} clients logging in "
          f"without pause; argon2id at the production cost; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"  query: {QUERY}")
    print(f"  load average before: {load_average()}\n", flush=True)
    with tempfile.TemporaryDirectory(prefix="portico-logins-") as tmp:
        env = server_environment(Path(tmp))
        try:
            emails = seed(env, args.clients)
            with serve(env) as url:
                outcome = asyncio.run(run(url, emails, args))
        except BenchFailed as exc:
            raise SystemExit(f"FAILED: {exc}") from None
    print_outcome(outcome, args)
    print(f"load average after: {load_average()}")


if __name__ == "__main__":
    main()
