"""`GET /public/{secret}/pdf[?visit=...]`: a shared document's PDF, by its public link."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from pdf.worker import RenderTooLarge
from resolvers import public_links
from resolvers.authentication import Client
from server.downloads import TOO_LARGE_TO_PRINT
from server.pdf_routes import pdf_response

# The link is the credential: nothing along the way may keep the response or pass on the URL.
PRIVATE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


async def public_document_pdf(request: Request) -> Response:
    client = Client(
        address=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    try:
        document = await public_links.open_pdf(
            request.path_params["secret"], request.query_params.get("visit"), client
        )
    except public_links.LinkInvalid as refused:
        return _error(404, refused.message)
    except public_links.VerificationRequired:
        return _error(403, "Verify your identity to see this document.")
    from pdf.documents import document_pdf  # the renderer's process pool starts on first use

    try:
        pdf = await document_pdf(document)
    except RenderTooLarge:
        return _error(422, TOO_LARGE_TO_PRINT)
    response = pdf_response(pdf, document.number, inline=True)
    response.headers.update(PRIVATE)
    return response


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status, headers=PRIVATE)
