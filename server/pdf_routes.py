"""`GET /documents/{id}/pdf`, `GET /payments/{id}/receipt.pdf` and
`GET /customers/{id}/statement.pdf?from=YYYY-MM-DD&to=YYYY-MM-DD`: PDFs to download or print.

`{id}` is the GraphQL global id. Who may download what is exactly what GraphQL answers: the
same authentication (the /graphql endpoint's own), `scoped()` rows, and the portal's document
preferences. Anonymous is 401, a kind the portal hides 403, not found and not yours alike 404.
`?disposition=inline` asks the browser to show the PDF (to print it) instead of saving it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry import relay

from auth.errors import (
    BadUserInput,
    CodedError,
    Forbidden,
    MfaEnrollmentRequired,
    NotFound,
    Unauthenticated,
)
from auth.principals import Anonymous, ContactPrincipal, Principal
from auth.scoping import scoped
from models.documents import SalesDocument
from models.payments import Payment, PaymentStatus
from pdf.documents import document_pdf, receipt_pdf
from pdf.statements import statement_pdf
from resolvers import document_visibility, portal_documents, preferences, statements
from schema.documents import TYPES
from schema.payments import Payment as PaymentNode

logger = logging.getLogger("portico.pdf")

Authenticate = Callable[[Request], Awaitable[Principal]]

KINDS_BY_TYPE = {node_type.__name__: kind for kind, node_type in TYPES.items()}
STATUS = {Unauthenticated: 401, Forbidden: 403, MfaEnrollmentRequired: 403, NotFound: 404}


class PdfDownloads:
    def __init__(self, authenticate: Authenticate) -> None:
        self.authenticate = authenticate

    async def document(self, request: Request) -> Response:
        async def download(principal: Principal) -> tuple[str, bytes]:
            row = await _visible_document(principal, request.path_params["id"])
            pdf = await document_pdf(row)
            # Only once it is delivered does the customer count as having opened it.
            await portal_documents.open_document(principal, row)
            return row.number, pdf

        return await self._serve(request, download)

    async def receipt(self, request: Request) -> Response:
        async def download(principal: Principal) -> tuple[str, bytes]:
            row = await _receipt_payment(principal, request.path_params["id"])
            return row.number, await receipt_pdf(row)

        return await self._serve(request, download)

    async def statement(self, request: Request) -> Response:
        async def download(principal: Principal) -> tuple[str, bytes]:
            customer_id = _customer_id(request.path_params["id"])
            start, end = _period(request.query_params.get("from"), request.query_params.get("to"))
            sections = await statements.statement(principal, customer_id, start, end)
            pdf = await statement_pdf(customer_id, start, end, [asdict(s) for s in sections])
            return f"statement-{start.isoformat()}-{end.isoformat()}", pdf

        return await self._serve(request, download)

    async def _serve(
        self, request: Request, download: Callable[[Principal], Awaitable[tuple[str, bytes]]]
    ) -> Response:
        # As for a GraphQL request: the preferences are read once and hold for the request.
        with preferences.cached_for_this_request():
            try:
                principal = await self.authenticate(request)
                _require_full_session(principal)
                name, pdf = await download(principal)
            except CodedError as exc:
                return _error(STATUS.get(type(exc), 400), exc.code, exc.message)
            except Exception:
                logger.exception("Could not serve %s", request.url.path)
                return _error(500, "INTERNAL_SERVER_ERROR", "Unexpected error.")
        return pdf_response(pdf, name, inline=request.query_params.get("disposition") == "inline")


def pdf_response(pdf: bytes, name: str, *, inline: bool = False) -> Response:
    disposition = "inline" if inline else "attachment"
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", name) or "document"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'{disposition}; filename="{filename}.pdf"',
            # The customer's own papers: no shared cache may keep them.
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _error(status: int, code: str, message: str) -> JSONResponse:
    """The codes GraphQL puts in `extensions.code`."""
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def _require_full_session(principal: Principal) -> None:
    """Who GraphQL refuses before any field: nobody, and a session that may only set up MFA."""
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    if isinstance(principal, ContactPrincipal) and principal.mfa_enrollment_required:
        raise MfaEnrollmentRequired()


async def _visible_document(principal: Principal, global_id: str) -> SalesDocument:
    type_name, row_id = _decode(global_id)
    kind = KINDS_BY_TYPE.get(type_name)
    if kind is None:
        raise NotFound("No such document.")
    # Asked for by id, a kind the portal hides is refused, as `node(id:)` does.
    await document_visibility.require_visible(principal, [kind])
    row = await scoped(SalesDocument, principal).get_or_none(id=row_id, kind=kind)
    if row is None:
        raise NotFound("No such document.")
    return row


async def _receipt_payment(principal: Principal, global_id: str) -> Payment:
    type_name, row_id = _decode(global_id)
    row = None
    if type_name == PaymentNode.__name__:
        row = await scoped(Payment, principal).get_or_none(id=row_id)
    if row is None:
        raise NotFound("No such payment.")
    if row.status != PaymentStatus.SUCCEEDED:
        raise NotFound("A payment has a receipt once it has succeeded.")
    return row


def _decode(global_id: str) -> tuple[str, int]:
    """The type name and row id of a global id; an id that names nothing gives row id 0."""
    try:
        decoded = relay.GlobalID.from_id(global_id)
    except (relay.GlobalIDValueError, ValueError):
        return "", 0
    node_id = decoded.node_id
    return decoded.type_name, int(node_id) if node_id.isdigit() and len(node_id) < 19 else 0


def _customer_id(global_id: str) -> int:
    type_name, row_id = _decode(global_id)
    if type_name != "Customer":
        raise NotFound("No such customer.")
    return row_id


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    try:
        return date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise BadUserInput("Give `from` and `to` as YYYY-MM-DD.") from None
