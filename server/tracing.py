"""OpenTelemetry tracing, set up from the standard OTEL_* variables (Settings.trace_exporters).

Off unless an OTLP endpoint is set or OTEL_TRACES_EXPORTER names an exporter: then nothing
here runs, no SDK provider is installed, and the request path keeps only the `tracing.tracer`
checks of integrations.tracing. On, it spans each HTTP request (server span, W3C traceparent
honoured), and from the moment a request, operation or email send is traced, every SQL statement
Tortoise sends within it. The SDK reads everything else itself: OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES, the sampler (OTEL_TRACES_SAMPLER, _ARG), the exporter's endpoint,
headers, timeout and compression, the batch processor's sizes. The SDK itself is imported only
when tracing is turned on: off, a process loads the API alone.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.asyncpg.client import TransactionWrapper as AsyncpgTransactionWrapper
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionWrapper

from integrations import tracing
from server import access_log
from server.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

logger = logging.getLogger("portico.tracing")

DEFAULT_SERVICE_NAME = "portico"
EXPORTERS = ("otlp", "console")

_provider: TracerProvider | None = None


def configure(settings: Settings) -> bool:
    """Starts tracing when the settings name exporters; whether tracing is on afterwards. Once
    per process: the app factory and `portico worker` both call it, and a second app (tests,
    benchmarks) keeps the first one's provider."""
    global _provider
    if _provider is None and settings.trace_exporters:
        _provider = provider_for(settings)
        # For libraries that trace through the global API; Portico's spans use `_provider`.
        trace.set_tracer_provider(_provider)
        start(_provider)
        logger.info("Tracing on, exporting to %s", ", ".join(settings.trace_exporters))
    return tracing.tracer is not None


def provider_for(settings: Settings) -> TracerProvider:
    """The SDK's provider with the settings' exporters, each behind a batching processor. The
    SDK reads the sampler itself; a sampler argument it cannot use is logged and sampling stays
    on, a bad value does not stop the server."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=_resource())
    for name in settings.trace_exporters:
        provider.add_span_processor(BatchSpanProcessor(_exporter(name)))
    return provider


def start(provider: TracerProvider) -> None:
    """Portico's spans go to `provider` from now on; tests pass one with an in-memory exporter."""
    tracing.enable(provider)
    _trace_statements()


def stop() -> None:
    """Spans stop; the SQL seam is restored as Tortoise wrote it."""
    tracing.disable()
    _untrace_statements()


def shutdown() -> None:
    """Exports what is still buffered; the end of a process."""
    if _provider is not None:
        _provider.shutdown()


def _resource() -> Resource:
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    # Resource.create reads OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES; without either,
    # the service is Portico rather than the SDK's "unknown_service".
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return resource


def _exporter(name: str) -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    if name == "console":
        return ConsoleSpanExporter()
    # Imported only when used: it brings requests and protobuf along.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


# --- HTTP requests -----------------------------------------------------------------------------


class RequestSpans:
    """A server span per HTTP request, continuing the caller's trace (W3C traceparent). Only in
    the middleware stack while tracing is on. Websockets live for hours: their subscriptions'
    starts are spanned instead (schema.tracing)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        tracer = tracing.tracer
        if scope["type"] != "http" or tracer is None:
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        with tracer.start_as_current_span(
            method,
            context=propagate.extract(_Headers(scope)),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": access_log.redacted(scope["path"]),
                "url.scheme": scope.get("scheme", "http"),
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:

            async def send_with_status(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status = message["status"]
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        tracing.failed(span, str(status))
                await send(message)

            try:
                await self.app(scope, receive, send_with_status)
            except Exception as error:
                tracing.failed(span, type(error).__name__)
                raise
            finally:
                # The route's template, never its values (a public link's secret).
                route = getattr(scope.get("route"), "path", None)
                if route:
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")


class _Headers(dict[str, str]):
    """An ASGI scope's headers as the propagator reads them (lower-case names)."""

    def __init__(self, scope: Scope) -> None:
        super().__init__(
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope.get("headers", ())
        )


# --- SQL statements ----------------------------------------------------------------------------

# Every statement Portico sends goes through one of these methods of Tortoise's clients (the
# prepared queries of auth.prepared and Portico's raw SQL included); a class's own methods only,
# so a statement is spanned once.
_CLIENTS = (SqliteClient, SqliteTransactionWrapper, AsyncpgDBClient, AsyncpgTransactionWrapper)
_STATEMENT_METHODS = (
    "execute_query",
    "execute_query_dict",
    "execute_insert",
    "execute_many",
    "execute_script",
)
_DB_SYSTEMS = {"sqlite": "sqlite", "postgres": "postgresql"}
_originals: list[tuple[type, str, Callable[..., Any]]] = []


def _trace_statements() -> None:
    if _originals:
        return
    for client in _CLIENTS:
        for name in _STATEMENT_METHODS:
            original = client.__dict__.get(name)
            if original is not None:
                _originals.append((client, name, original))
                setattr(client, name, _statement_span(original))


def _untrace_statements() -> None:
    while _originals:
        client, name, original = _originals.pop()
        setattr(client, name, original)


def _statement_span(
    execute: Callable[..., Coroutine[Any, Any, Any]],
) -> Callable[..., Coroutine[Any, Any, Any]]:
    @functools.wraps(execute)
    async def traced_statement(client: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        tracer = tracing.tracer
        # Only within traced work: the outbox's and housekeeping's polls would otherwise be a
        # trace of one statement every few seconds, and an unsampled request's are not kept.
        if tracer is None or not trace.get_current_span().is_recording():
            return await execute(client, query, *args, **kwargs)
        with tracer.start_as_current_span(
            _operation(query),
            kind=SpanKind.CLIENT,
            attributes={
                "db.system": _DB_SYSTEMS.get(client.capabilities.dialect, "other_sql"),
                # The SQL text with its placeholders; the values (the arguments) are left out.
                "db.statement": query,
            },
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            try:
                return await execute(client, query, *args, **kwargs)
            except Exception as error:
                tracing.failed(span, type(error).__name__)
                raise

    return traced_statement


def _operation(query: str) -> str:
    words = query.split(None, 1)
    return words[0].upper() if words else "SQL"
