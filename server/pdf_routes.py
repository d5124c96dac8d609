"""`GET /documents/{id}/pdf`, `GET /payments/{id}/receipt.pdf` and
`GET /customers/{id}/statement.pdf?from=YYYY-MM-DD&to=YYYY-MM-DD`: PDFs to download or print.

`{id}` is the GraphQL global id. Who may download what is exactly what GraphQL answers: the
same authentication (the /graphql endpoint's own), `scoped()` rows, and the portal's document
preferences. Anonymous is 401, a kind the portal hides 403, not found and not yours alike 404.
`?disposition=inline` asks the browser to show the PDF (to print it) instead of saving it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import date

from starlette.requests import Request
from starlette.responses import Response

from auth.errors import BadUserInput, NotFound
from auth.principals import Principal
from auth.scoping import scoped
from models.documents import SalesDocument
from models.payments import Payment, PaymentStatus
from pdf.documents import document_pdf, receipt_pdf
from pdf.statements import statement_pdf
from resolvers import document_visibility, portal_documents, statements
from schema.documents import TYPES
from schema.payments import Payment as PaymentNode
from server.downloads import Authenticate, decode_global_id, guarded

KINDS_BY_TYPE = {node_type.__name__: kind for kind, node_type in TYPES.items()}


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
            if sections is None:
                raise NotFound("No such customer.")
            pdf = await statement_pdf(customer_id, start, end, [asdict(s) for s in sections])
            return f"statement-{start.isoformat()}-{end.isoformat()}", pdf

        return await self._serve(request, download)

    async def _serve(
        self, request: Request, download: Callable[[Principal], Awaitable[tuple[str, bytes]]]
    ) -> Response:
        inline = request.query_params.get("disposition") == "inline"

        async def serve(principal: Principal) -> Response:
            name, pdf = await download(principal)
            return pdf_response(pdf, name, inline=inline)

        return await guarded(request, self.authenticate, serve)


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


async def _visible_document(principal: Principal, global_id: str) -> SalesDocument:
    type_name, row_id = decode_global_id(global_id)
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
    type_name, row_id = decode_global_id(global_id)
    row = None
    if type_name == PaymentNode.__name__:
        row = await scoped(Payment, principal).get_or_none(id=row_id)
    if row is None:
        raise NotFound("No such payment.")
    if row.status != PaymentStatus.SUCCEEDED:
        raise NotFound("A payment has a receipt once it has succeeded.")
    return row


def _customer_id(global_id: str) -> int:
    type_name, row_id = decode_global_id(global_id)
    if type_name != "Customer":
        raise NotFound("No such customer.")
    return row_id


def _period(start: str | None, end: str | None) -> tuple[date, date]:
    try:
        return date.fromisoformat(start or ""), date.fromisoformat(end or "")
    except ValueError:
        raise BadUserInput("Give `from` and `to` as YYYY-MM-DD.") from None
