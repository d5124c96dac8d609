"""`/metrics` in Prometheus' text format, for whoever holds PORTICO_METRICS_TOKEN.

Unconfigured, the route answers 404 as if it did not exist; configured, a request without
`Authorization: Bearer <token>` (compared in constant time) gets 401. The metrics Portico keeps
in its processes are defined in integrations.metrics; the outbox's backlog is counted in the
database at each scrape (one indexed query), so it is right whichever process delivers.

With several workers (`portico serve --workers N`), each scrape reaches one of them: the values
are then kept in files of prometheus-client's multiprocess mode and added up at the scrape.
`portico serve` makes that directory (PROMETHEUS_MULTIPROC_DIR) and removes it when it stops.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from integrations import metrics
from integrations.outbox import pending_backlog
from resolvers.request_record import RequestRecord
from server.settings import Settings

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# The first segment of a path names its route; any other path is "other", so a stranger's
# made-up paths add no series.
ROUTES = frozenset(
    {
        "graphql",
        "documents",
        "payments",
        "customers",
        "files",
        "public",
        "webhooks",
        "healthz",
        "readyz",
        "metrics",
    }
)
_ERROR_CODE_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ_")


def observe(record: RequestRecord, seconds: float) -> None:
    """Counts an HTTP request that ended (server.request_log)."""
    route = record.path.split("/", 2)[1]
    _requests(route if route in ROUTES else "other", record.status).inc()
    if record.sql_statements:
        metrics.SQL_STATEMENTS.inc(record.sql_statements)
    if record.operation_type is not None:
        operation = metrics.operation_label(record.operation_name, registered=record.registered)
        _operations(operation, record.operation_type).observe(seconds)
    for code in record.error_codes:
        metrics.GRAPHQL_ERRORS.labels(_error_label(code)).inc()


# A series' child, looked up once: prometheus-client checks and locks on each `labels` call.
# The labels' values come from fixed sets (see integrations.metrics), so these stay small.
@functools.cache
def _requests(route: str, status: int) -> Counter:
    return metrics.HTTP_REQUESTS.labels(route, status)


@functools.cache
def _operations(operation: str, kind: str) -> Histogram:
    return metrics.GRAPHQL_OPERATIONS.labels(operation, kind)


def _error_label(code: str) -> str:
    # Codes are Portico's own; anything else is not to become a series.
    if 0 < len(code) <= 40 and _ERROR_CODE_CHARACTERS.issuperset(code):
        return code
    return "OTHER"


class MetricsEndpoint:
    def __init__(self, settings: Settings) -> None:
        self.token = settings.metrics_token.encode()

    async def serve(self, request: Request) -> Response:
        if not self.token:
            return PlainTextResponse("Not Found", status_code=404)
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), self.token
        ):
            return PlainTextResponse(
                "Unauthorized", status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        at_scrape = CollectorRegistry()
        at_scrape.register(_Backlog(*await pending_backlog()))
        body = generate_latest(_kept_registry()) + generate_latest(at_scrape)
        return Response(body, media_type=CONTENT_TYPE_LATEST)


def _kept_registry() -> CollectorRegistry:
    directory = os.environ.get(MULTIPROCESS_VARIABLE)
    if not directory:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=directory)
    return registry


class _Backlog:
    def __init__(self, pending: int, oldest: datetime | None) -> None:
        self.pending = pending
        self.oldest = oldest

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "portico_outbox_pending", "Email waiting in the outbox.", value=self.pending
        )
        age = (datetime.now(UTC) - self.oldest).total_seconds() if self.oldest else 0.0
        yield GaugeMetricFamily(
            "portico_outbox_oldest_pending_age_seconds",
            "How long the oldest email waiting in the outbox has waited (0: none waits).",
            value=max(age, 0.0),
        )


@contextlib.contextmanager
def multiprocess_directory(workers: int) -> Iterator[None]:
    """Around `portico serve`: with several workers, the directory their metrics share, set in
    the environment they inherit. One given in PROMETHEUS_MULTIPROC_DIR is emptied first (the
    values of an earlier run are not this run's) and kept; one made here is removed after."""
    if workers < 2:
        yield
        return
    given = os.environ.get(MULTIPROCESS_VARIABLE)
    if given:
        for stale in Path(given).glob("*.db"):
            stale.unlink()
        yield
        return
    made = tempfile.mkdtemp(prefix="portico-metrics-")
    os.environ[MULTIPROCESS_VARIABLE] = made
    try:
        yield
    finally:
        del os.environ[MULTIPROCESS_VARIABLE]
        shutil.rmtree(made, ignore_errors=True)


def process_ends() -> None:
    """A worker stopping: its gauges no longer count (`livesum`)."""
    if os.environ.get(MULTIPROCESS_VARIABLE):
        mark_process_dead(os.getpid())
