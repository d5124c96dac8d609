"""Customers page with contact persons: Portico's batched loaders against the same endpoint
with batching switched off (one query per customer, the N+1 a naive resolver makes).

Both run in one process on the same data; the result is a ratio, not a time budget.
    .venv/bin/python -m bench.customers_page [--customers 100] [--rounds 20] [--postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from strawberry.dataloader import DataLoader

import schema.context
from auth.sessions import SessionPolicy, start_session
from models.customers import ContactPerson, Customer
from models.organizations import Organization
from models.staff import StaffRole, StaffUser
from resolvers.loaders import Loaders
from server.app import create_app
from server.database import close_database, open_database
from server.migrations import migrate
from server.settings import Settings
from tests.services import postgres_server

QUERY = "{ customers(first: 100) { nodes { displayName contactPersons { email } } } }"


class UnbatchedLoaders(Loaders):
    def children(self, model, parent_field, order):  # type: ignore[override]
        loader = super().children(model, parent_field, order)
        return DataLoader(loader.load_fn, max_batch_size=1, cache=False)


class Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


async def seed(customers: int) -> StaffUser:
    org = await Organization.create(name="Bench", portal_name="bench")
    user = await StaffUser.create(
        organization=org, email="b@b.example", name="B", role=StaffRole.ADMIN
    )
    for index in range(customers):
        customer = await Customer.create(
            organization=org, display_name=f"C{index:04}", currency="USD"
        )
        await ContactPerson.bulk_create(
            [
                ContactPerson(
                    organization=org,
                    customer=customer,
                    first_name="P",
                    email=f"p{index}-{n}@b.example",
                )
                for n in range(3)
            ]
        )
    return user


async def timed(
    label: str, rounds: int, counter: Counter, work: Callable[[], Awaitable[None]]
) -> float:
    await work()
    counter.count = 0
    start = time.perf_counter()
    for _ in range(rounds):
        await work()
    elapsed = (time.perf_counter() - start) / rounds
    print(
        f"{label:<22} {elapsed * 1000:8.2f} ms/request  {counter.count / rounds:6.1f} SQL/request"
    )
    return elapsed


async def run(database_url: str, var_dir: Path, customers: int, rounds: int) -> None:
    settings = Settings(
        database_url=database_url, secret_key="b" * 40, var_dir=var_dir, log_level="WARNING"
    )
    await migrate(settings.database_url)
    await open_database(settings)
    user = await seed(customers)
    token, _ = await start_session(SessionPolicy.from_settings(settings), staff_user=user)
    counter = Counter()
    sql_log = logging.getLogger("tortoise.db_client")
    sql_log.setLevel(logging.DEBUG)
    sql_log.propagate = False
    sql_log.addHandler(counter)
    app = create_app(settings, manage_database=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:

        async def request() -> None:
            headers = {"Authorization": f"Bearer {token}"}
            response = await http.post("/graphql", json={"query": QUERY}, headers=headers)
            assert len(response.json()["data"]["customers"]["nodes"]) == min(customers, 100)

        batched = await timed("portico (batched)", rounds, counter, request)
        schema.context.Loaders = UnbatchedLoaders  # type: ignore[misc]
        try:
            baseline = await timed("baseline (N+1)", rounds, counter, request)
        finally:
            schema.context.Loaders = Loaders  # type: ignore[misc]
    print(f"ratio portico/baseline: {batched / baseline:.2f} (below 1: Portico is faster)")
    await close_database()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--postgres", action="store_true", help="start a throwaway PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        url = f"sqlite://{tmp}/bench.sqlite3"
        if args.postgres:
            url = stack.enter_context(postgres_server())
            if url is None:
                raise SystemExit("PostgreSQL (initdb/pg_ctl) is not installed")
        asyncio.run(run(url, Path(tmp), args.customers, args.rounds))


if __name__ == "__main__":
    main()
