"""OpenTelemetry traces: what a request, an operation, its resolvers, loaders and SQL statements,
a payment and an email send look like to a collector, and that nothing secret reaches one.
Spans go to the SDK's in-memory exporter; the app is built after tracing starts, as
`portico serve` builds it after reading OTEL_*."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.sqlite.client import SqliteClient

from integrations import tracing as spans_api
from integrations.mailer import ConsoleMailer
from integrations.outbox import deliver_once
from models.documents import SalesDocument
from models.outbox import OutboxMessage, OutboxStatus
from schema.execution import PorticoExecution
from server import tracing
from server.settings import ConfigurationError, Settings
from tests import graphql_ws
from tests.conftest import PASSWORD, World, app_client, gid, gql
from tests.test_activity import customer_event, websocket_client
from tests.test_email import enqueue
from tests.test_pdf import document_path, download, issue
from tests.test_statement_counts import PAY, seed_invoices

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
CUSTOMER = """query Customer($id: ID!) {
  node(id: $id) { ... on Customer { displayName internalNotes } } }"""


@pytest.fixture
def exported() -> Iterator[InMemorySpanExporter]:
    """Tracing on for the test, its spans kept in memory."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.start(provider)
    yield exporter
    tracing.stop()


def named(spans: tuple[ReadableSpan, ...], name: str) -> ReadableSpan:
    found = [span for span in spans if span.name == name]
    assert len(found) == 1, (name, [span.name for span in spans])
    return found[0]


def parent_of(spans: tuple[ReadableSpan, ...], span: ReadableSpan) -> ReadableSpan | None:
    if span.parent is None:
        return None
    return next(s for s in spans if s.context.span_id == span.parent.span_id)


def ancestors(spans: tuple[ReadableSpan, ...], span: ReadableSpan) -> list[str]:
    names = []
    while (span := parent_of(spans, span)) is not None:  # type: ignore[assignment]
        names.append(span.name)
    return names


def sql_spans(spans: tuple[ReadableSpan, ...]) -> list[ReadableSpan]:
    return [span for span in spans if "db.statement" in (span.attributes or {})]


def assert_nothing_secret(spans: tuple[ReadableSpan, ...], secrets: list[str]) -> None:
    """No attribute, name or status of any span carries one of the secrets."""
    assert spans
    for span in spans:
        texts = [span.name, span.status.description or ""]
        texts += [f"{key}={value}" for key, value in (span.attributes or {}).items()]
        for text in texts:
            for secret in secrets:
                assert secret not in text, (span.name, text)


async def test_a_query_is_traced_from_the_request_to_its_sql_statements(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    async with app_client(db) as http:
        body = await gql(
            http, CUSTOMER, {"id": gid("Customer", world.customer_a)}, token=world.tokens["admin"]
        )
    assert body["data"]["node"] == {"displayName": "Acorn Ltd", "internalNotes": "vip"}
    spans = exported.get_finished_spans()

    request = named(spans, "POST /graphql")
    assert request.kind == SpanKind.SERVER and request.parent is None
    assert request.attributes == {
        "http.request.method": "POST",
        "url.path": "/graphql",
        "url.scheme": "http",
        "http.response.status_code": 200,
        "http.route": "/graphql",
    }
    operation = named(spans, "query Customer")
    assert parent_of(spans, operation) is request
    assert operation.attributes == {
        "graphql.operation.type": "query",
        "graphql.operation.name": "Customer",
    }
    root_field = named(spans, "Query.node")
    assert parent_of(spans, root_field) is operation
    assert root_field.status.status_code == StatusCode.UNSET
    loader = named(spans, "load Customer by id")
    assert parent_of(spans, loader) is root_field
    assert loader.attributes == {"portico.loader.keys": 1}

    statements = sql_spans(spans)
    system = "postgresql" if db.database_url.startswith("postgres") else "sqlite"
    assert {span.attributes["db.system"] for span in statements} == {system}
    # The session's lookup runs before the operation; the customer's row inside the loader.
    loaded = [span for span in statements if parent_of(spans, span) is loader]
    assert len(loaded) == 1 and loaded[0].name == "SELECT"
    assert '"customer"' in loaded[0].attributes["db.statement"]
    assert loaded[0].kind == SpanKind.CLIENT
    for span in statements:
        assert ancestors(spans, span)[-1] == "POST /graphql"
    assert {span.context.trace_id for span in spans} == {request.context.trace_id}
    assert_nothing_secret(
        spans, [world.tokens["admin"], "Acorn Ltd", "vip", gid("Customer", world.customer_a)]
    )


async def test_an_incoming_traceparent_is_continued(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    async with app_client(db) as http:
        response = await http.post(
            "/graphql",
            json={"query": "{ viewer { __typename } }"},
            headers={
                "Authorization": f"Bearer {world.tokens['contact_a']}",
                "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
            },
        )
        assert response.json()["data"]["viewer"]
    spans = exported.get_finished_spans()
    request = named(spans, "POST /graphql")
    assert request.context.trace_id == int(TRACE_ID, 16)
    assert request.parent is not None and request.parent.span_id == int(PARENT_ID, 16)
    assert request.parent.is_remote
    assert {span.context.trace_id for span in spans} == {int(TRACE_ID, 16)}


async def test_a_public_links_secret_stays_out_of_the_request_span(
    db: Settings, exported: InMemorySpanExporter
) -> None:
    secret = "pl_" + "s3cr3t" * 6
    async with app_client(db) as http:
        response = await http.get(f"/public/{secret}/pdf?download=1")
    spans = exported.get_finished_spans()
    request = named(spans, "GET /public/{secret}/pdf")
    assert request.attributes["url.path"] == "/public/[secret]/pdf"
    assert request.attributes["http.response.status_code"] == response.status_code
    assert_nothing_secret(spans, [secret])


async def test_paying_an_invoice_spans_the_gateways_charge(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    await seed_invoices(world, 1, lines=1)
    invoice = await SalesDocument.get(organization=world.org_a)
    key = uuid.uuid4().hex
    payment = {
        "idempotencyKey": key,
        "allocations": [{"documentId": gid("Invoice", invoice), "amount": "15.00"}],
        "token": "tok_visa",
    }
    async with app_client(db) as http:
        body = await gql(http, PAY, {"input": payment}, token=world.tokens["contact_a"])
    assert body["data"]["payInvoices"]["payment"]["status"] == "SUCCEEDED"
    spans = exported.get_finished_spans()

    charge = named(spans, "gateway test charge")
    assert charge.kind == SpanKind.CLIENT
    assert charge.attributes == {
        "portico.gateway.name": "test",
        "portico.gateway.call": "charge",
        "portico.gateway.status": "SUCCEEDED",
    }
    assert ancestors(spans, charge) == ["Mutation.payInvoices", "mutation", "POST /graphql"]
    assert named(spans, "mutation").attributes == {"graphql.operation.type": "mutation"}
    # The payment's writes are statements of the mutation too.
    writes = [
        span
        for span in sql_spans(spans)
        if span.attributes["db.statement"].startswith(('INSERT INTO "payment', 'UPDATE "payment"'))
    ]
    assert len(writes) == 3  # the payment, its allocation, its outcome
    assert all(ancestors(spans, span)[0] == "Mutation.payInvoices" for span in writes)
    assert_nothing_secret(spans, ["tok_visa", key, world.tokens["contact_a"]])


async def test_an_email_send_is_a_trace_with_its_outcome(
    world: World, exported: InMemorySpanExporter
) -> None:
    class Refusing:
        async def send(self, message: EmailMessage) -> None:
            raise ConnectionRefusedError("mail.example:25 token=rst_0123456789abcdefghij")

    sent = await enqueue(world, to="staff@alpha.example")
    assert await deliver_once(ConsoleMailer(), "w1") == 1
    await enqueue(world, to="staff2@alpha.example")
    assert await deliver_once(Refusing(), "w1") == 1
    spans = exported.get_finished_spans()

    sends = [span for span in spans if span.name == "outbox send"]
    assert [span.attributes["portico.outbox.status"] for span in sends] == ["SENT", "PENDING"]
    assert sends[0].attributes["portico.outbox.message"] == sent.id
    assert sends[0].attributes["portico.outbox.template"] == "activity_notification"
    assert sends[0].parent is None and sends[0].status.status_code == StatusCode.UNSET
    assert sends[1].status.status_code == StatusCode.ERROR
    assert sends[1].status.description == "ConnectionRefusedError"
    # Each send's outcome is written within it; the claims of the polls are not traced.
    for send in sends:
        children = [s for s in sql_spans(spans) if parent_of(spans, s) is send]
        assert [s.name for s in children] == ["UPDATE"]
    assert all(parent_of(spans, s) in sends for s in sql_spans(spans))
    assert (await OutboxMessage.get(id=sent.id)).status == OutboxStatus.SENT
    assert_nothing_secret(spans, ["staff@alpha.example", "staff2@alpha.example", "rst_0123"])


async def test_a_subscription_is_traced_when_it_starts_not_per_event(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    query = "subscription Feed { portalActivity { node { kind customer { displayName } } } }"
    async with (
        websocket_client(db) as ws_http,
        graphql_ws.connect(ws_http, token=world.tokens["staff"]) as ws,
    ):
        await ws.subscribe(query)
        await asyncio.sleep(0.2)
        started = exported.get_finished_spans()
        for _ in range(2):
            await customer_event(world, world.customer_a)
            message = await ws.receive()
            assert message["payload"]["data"]["portalActivity"]["node"]["kind"] == "PAYMENT_MADE"
        assert exported.get_finished_spans() == started
    # The subscriber's start, and that of the execution it shares with identical subscribers.
    assert {span.name for span in started if span.parent is None} == {"subscription Feed"}
    for start in (span for span in started if span.parent is None):
        assert start.attributes == {
            "graphql.operation.type": "subscription",
            "graphql.operation.name": "Feed",
        }
    assert all(
        ancestors(started, span)[-1] == "subscription Feed" for span in started if span.parent
    )


@pytest.mark.slow
async def test_downloading_a_pdf_spans_its_render(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    async with app_client(db) as http:
        document = await issue(http, world)
        exported.clear()
        response = await download(http, document_path(document), world.tokens["contact_a"])
    assert response.status_code == 200
    spans = exported.get_finished_spans()
    render = named(spans, "pdf render")
    assert render.attributes == {"portico.pdf.template": "document.html"}
    assert ancestors(spans, render) == ["GET /documents/{id:path}/pdf"]


async def test_a_failing_operation_is_marked_with_its_error_code(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    async with app_client(db) as http:
        body = await gql(http, "query Customers { customers(first: 1) { totalCount } }")
        assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
        body = await gql(http, "{ customers(first: ")
        assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    spans = exported.get_finished_spans()

    operation = named(spans, "query Customers")
    assert operation.status.status_code == StatusCode.ERROR
    assert operation.status.description == "UNAUTHENTICATED"
    assert operation.attributes["error.type"] == "UNAUTHENTICATED"
    root_field = named(spans, "Query.customers")
    assert root_field.status.status_code == StatusCode.ERROR
    assert root_field.attributes["error.type"] == "UNAUTHENTICATED"

    unparsed = named(spans, "GraphQL operation")
    assert unparsed.status.description == "GRAPHQL_PARSE_FAILED"
    requests = [span for span in spans if span.kind == SpanKind.SERVER]
    assert [span.attributes["http.response.status_code"] for span in requests] == [200, 200]
    # A client's mistake is no fault of the server's.
    assert all(span.status.status_code == StatusCode.UNSET for span in requests)


async def test_no_password_token_or_parameter_value_reaches_a_span(
    db: Settings, world: World, exported: InMemorySpanExporter
) -> None:
    login = (
        """mutation Login($input: LoginInput!) { login(input: $input) { token errors { code } } }"""
    )
    async with app_client(db) as http:
        body = await gql(
            http, login, {"input": {"email": "admin@alpha.example", "password": PASSWORD}}
        )
        token = body["data"]["login"]["token"]
        assert token
        wrong = {"email": "staff@alpha.example", "password": "wrong-" + PASSWORD}
        assert (await gql(http, login, {"input": wrong}))["data"]["login"]["errors"]
        await gql(http, "{ viewer { __typename } }", token=token)
    spans = exported.get_finished_spans()
    statements = sql_spans(spans)
    # The email was looked up, so its SQL ran: with a placeholder, not the address.
    assert any('"email"' in s.attributes["db.statement"] for s in statements)
    assert_nothing_secret(
        spans,
        [PASSWORD, token, "admin@alpha.example", "staff@alpha.example", *world.tokens.values()],
    )


async def test_without_configuration_nothing_is_installed_or_recorded(
    db: Settings, world: World
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.start(provider)
    tracing.stop()  # what a traced test leaves behind must not matter either
    sqlite_query = SqliteClient.__dict__["execute_query"]
    assert "traced_statement" not in sqlite_query.__qualname__
    assert "traced_statement" not in AsyncpgDBClient.__dict__["execute_query"].__qualname__

    assert tracing.configure(db) is False
    async with app_client(db) as http:
        app = http._transport.app  # type: ignore[attr-defined]
        assert not any(m.cls is tracing.RequestSpans for m in app.user_middleware)
        await gql(
            http, CUSTOMER, {"id": gid("Customer", world.customer_a)}, token=world.tokens["admin"]
        )
    assert exporter.get_finished_spans() == ()
    assert spans_api.tracer is None
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)
    graphql = next(route for route in app.routes if route.path == "/graphql").endpoint
    assert graphql.schema.execution_context_class is PorticoExecution


@pytest.mark.parametrize(
    ("environ", "exporters"),
    [
        ({}, ()),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, ("otlp",)),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c.example/v1/traces"}, ("otlp",)),
        ({"OTEL_TRACES_EXPORTER": "console"}, ("console",)),
        ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ("otlp", "console")),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, ()),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "console"}, ()),
    ],
)
def test_tracing_is_on_when_the_otel_variables_ask_for_it(
    environ: dict[str, str], exporters: tuple[str, ...]
) -> None:
    assert Settings.from_env(environ).trace_exporters == exporters


@pytest.mark.parametrize(
    ("environ", "problem"),
    [
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin' is not valid"),
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "collector:4318"},
            "OTEL_EXPORTER_OTLP_ENDPOINT='collector:4318' is not valid",
        ),
        (
            {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL='grpc' is not valid: expected http/protobuf",
        ),
    ],
)
def test_a_bad_tracing_variable_is_a_configuration_error(
    environ: dict[str, str], problem: str
) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(environ)
    assert [line for line in refused.value.problems if line.startswith(problem)]


def test_the_sdk_reads_the_rest_and_a_bad_sampler_argument_does_not_stop_the_server(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "half")
    provider = tracing.provider_for(Settings(trace_exporters=("console",)))
    assert provider.resource.attributes["service.name"] == "portico"
    assert "TraceIdRatioBased{1.0}" in provider.sampler.get_description()
    assert "rate 1.0" in caplog.text

    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "7")  # out of [0, 1]
    monkeypatch.setenv("OTEL_SERVICE_NAME", "portico-eu")
    provider = tracing.provider_for(Settings(trace_exporters=("otlp",)))
    assert provider.resource.attributes["service.name"] == "portico-eu"
    provider.shutdown()
