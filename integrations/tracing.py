"""Portico's spans, written through the OpenTelemetry API.

`tracer` stays None until the composition root enables tracing (server.tracing): every hook
in the request path checks it first, so a server without tracing pays one attribute read per
hook and installs no wrapper. Spans never carry values a client sent, tokens or exception
messages (a database's message may quote a row); a failure is named by its code or type.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from opentelemetry.trace import (
    Span,
    SpanKind,
    Status,
    StatusCode,
    Tracer,
    TracerProvider,
    get_current_span,
)
from opentelemetry.util.types import AttributeValue

INSTRUMENTATION_NAME = "portico"

# Read at call time (`tracing.tracer`), never imported by value: enabling comes after imports.
tracer: Tracer | None = None


def enable(provider: TracerProvider) -> None:
    global tracer
    tracer = provider.get_tracer(INSTRUMENTATION_NAME)


def disable() -> None:
    global tracer
    tracer = None


def failed(span: Span, code: str) -> None:
    """Marks the span as failed with a code (a GraphQL error code, an exception's type)."""
    span.set_status(Status(StatusCode.ERROR, code))
    span.set_attribute("error.type", code)


@contextlib.contextmanager
def span(
    name: str,
    *,
    kind: SpanKind = SpanKind.INTERNAL,
    attributes: Mapping[str, AttributeValue] | None = None,
) -> Iterator[Span | None]:
    """A current span while the block runs, or None when tracing is off. An exception marks
    it failed with the exception's type; its message is left out."""
    if tracer is None:
        yield None
        return
    with tracer.start_as_current_span(
        name,
        kind=kind,
        attributes=attributes,
        record_exception=False,
        set_status_on_exception=False,
    ) as current:
        try:
            yield current
        except Exception as error:
            failed(current, type(error).__name__)
            raise


def batch_load(
    name: str, load: Callable[[Any], Awaitable[list[Any]]]
) -> Callable[[Any], Awaitable[list[Any]]]:
    """A DataLoader's batch function, spanned per batch when tracing is on (and untouched
    when it is off)."""
    if tracer is None:
        return load

    async def load_batch(keys: Any) -> list[Any]:
        # Within traced work only: a subscription's events are not traced, only its start.
        if not get_current_span().is_recording():
            return await load(keys)
        with span(f"load {name}", attributes={"portico.loader.keys": len(keys)}):
            return await load(keys)

    return load_batch
