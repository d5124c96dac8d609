"""The ASGI application factory: routes, middleware and the database lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Route, WebSocketRoute

from auth import passwords, sealing
from integrations import broker, sms, storage
from pdf import renderer as pdf_renderer
from pdf.links import DOCUMENT_ROUTE, RECEIPT_ROUTE, STATEMENT_ROUTE
from resolvers import files, links
from resolvers.upload_rules import UploadRules
from server import heap, housekeeping, logs, metrics, tracing
from server.database import close_database, open_database
from server.delivery import configure_pdfs, outbox_delivery
from server.file_routes import FileDownloads
from server.gateways import install_gateways
from server.graphql import PorticoGraphQL
from server.health import healthz, readyz
from server.limits import UPLOAD_OVERHEAD_BYTES, BodyLimits
from server.metrics import MetricsEndpoint
from server.pdf_routes import PdfDownloads
from server.public_routes import public_document_pdf
from server.request_log import RequestLog
from server.settings import Settings
from server.unavailable import ServiceUnavailable
from server.webhooks import gateway_webhook


def install_file_storage(settings: Settings) -> None:
    storage.install(storage.LocalFileStorage(settings.files_root))
    files.configure(UploadRules(max_bytes=settings.max_upload_bytes))


def create_app(settings: Settings | None = None, *, manage_database: bool = True) -> Starlette:
    settings = settings or Settings.from_env()
    logs.configure(settings)
    # Before anything that is instrumented as it is set up (the gateways, the schema).
    traced = tracing.configure(settings)
    passwords.configure(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.password_workers
    )
    sealing.configure(settings.secret_key)
    links.configure(settings.links)
    sms.install(sms.sender_from_url(settings.sms_url))
    install_gateways(settings)
    install_file_storage(settings)
    graphql = PorticoGraphQL(settings)
    configure_pdfs(settings)
    downloads = PdfDownloads(graphql.authenticate_download)
    file_downloads = FileDownloads(graphql.authenticate_download)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        if not manage_database:
            yield
            return
        await open_database(settings)
        events = broker.broker_from_url(settings.redis_url, timeout=settings.redis_timeout_seconds)
        await events.start()
        broker.install(events)
        background = [
            asyncio.create_task(housekeeping.run_forever()),
            asyncio.create_task(housekeeping.reconcile_payments_forever()),
            asyncio.create_task(graphql.persisted_queries.refresh_forever()),
        ]
        heap.freeze_startup_objects()
        try:
            async with outbox_delivery(settings):
                yield
        finally:
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await events.stop()
            if graphql.query_budgets is not None:
                await graphql.query_budgets.close()
            await close_database()
            await asyncio.to_thread(pdf_renderer.shutdown)
            # The spans still buffered are sent (the exporter's timeout bounds the wait).
            await asyncio.to_thread(tracing.shutdown)
            metrics.process_ends()

    # Outermost while tracing is on, so that a request's span covers everything; absent when
    # it is off.
    request_spans = [Middleware(tracing.RequestSpans)] if traced else []
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", MetricsEndpoint(settings).serve, methods=["GET"]),
            Route("/webhooks/gateways/{name}", gateway_webhook, methods=["POST"]),
            Route(DOCUMENT_ROUTE, downloads.document, methods=["GET"]),
            Route(RECEIPT_ROUTE, downloads.receipt, methods=["GET"]),
            Route(STATEMENT_ROUTE, downloads.statement, methods=["GET"]),
            Route("/public/{secret}/pdf", public_document_pdf, methods=["GET"]),
            Route(files.DOWNLOAD_ROUTE, file_downloads.shared_file, methods=["GET"]),
        ],
        middleware=[
            # Outermost but for the request's span: every answer, the refusals of those below
            # included, gets its line.
            *request_spans,
            Middleware(RequestLog),
            Middleware(
                BodyLimits,
                max_bytes=settings.max_body_bytes,
                deadline_seconds=settings.body_timeout_seconds,
                upload_max_bytes=settings.max_upload_bytes + UPLOAD_OVERHEAD_BYTES,
                upload_path="/graphql",
            ),
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.allowed_origins),
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            ),
            # Inside CORS, so that a browser lets the portal read the 503.
            Middleware(ServiceUnavailable),
        ],
        lifespan=lifespan,
    )
