"""Every Prometheus metric Portico keeps in its processes, in one place (the README lists them).
`server.metrics` serves them at `/metrics`, with those computed from the database at scrape time.

Labels take values from fixed sets only, so no client can make a series of its own: an
operation is labelled by its name only when its document is in the trusted registry (which
staff fill), otherwise "other"; error codes are Portico's own; gateways are those installed.

With several worker processes, prometheus-client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by `portico serve`) writes each process's values to files that a scrape adds up; gauges
say how (`livesum`: the sum over the processes alive).
"""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Gauge, Histogram

# Labels of operations whose name may not label a series.
OTHER_OPERATION: Final = "other"
UNNAMED_OPERATION: Final = "anonymous"

# Seconds; a portal page takes milliseconds, a PDF or a login (argon2) up to seconds.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "portico_http_requests",
    "HTTP requests answered, by route and status.",
    ["route", "status"],
)
GRAPHQL_OPERATIONS = Histogram(
    "portico_graphql_operation_duration_seconds",
    "GraphQL operations over HTTP and their duration, by operation (registered documents' "
    "names; `other` for the rest) and type.",
    ["operation", "type"],
    buckets=LATENCY_BUCKETS,
)
GRAPHQL_ERRORS = Counter(
    "portico_graphql_errors",
    "GraphQL errors answered over HTTP, by extensions.code.",
    ["code"],
)
SQL_STATEMENTS = Counter(
    "portico_sql_statements",
    "SQL statements sent while answering HTTP requests.",
)
SUBSCRIPTIONS_OPEN = Gauge(
    "portico_subscriptions_open",
    "Operations running over websockets (live subscriptions, mostly).",
    multiprocess_mode="livesum",
)
SUBSCRIPTION_EVENTS = Counter(
    "portico_subscription_events",
    "Events (`next` messages) delivered to websocket subscribers.",
)
PDF_RENDERS_PENDING = Gauge(
    "portico_pdf_renders_pending",
    "PDF renders waiting for a free render process.",
    multiprocess_mode="livesum",
)
PDF_RENDERS_IN_PROGRESS = Gauge(
    "portico_pdf_renders_in_progress",
    "PDF renders under way in the render processes.",
    multiprocess_mode="livesum",
)
GATEWAY_CALLS = Counter(
    "portico_gateway_calls",
    "Calls to payment gateways, by gateway, call and outcome (the charge's or refund's status, "
    "`ok`, `invalid_token`, `unreachable` or `error`).",
    ["gateway", "call", "outcome"],
)


def operation_label(name: str | None, *, registered: bool) -> str:
    if not registered:
        return OTHER_OPERATION
    return name or UNNAMED_OPERATION
