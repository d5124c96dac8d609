"""Where the PDFs are downloaded: paths by GraphQL global id, the same the routes serve."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

# Global ids are standard base64, so they may hold "/": the routes take the id as a path.
DOCUMENT_ROUTE = "/documents/{id:path}/pdf"
RECEIPT_ROUTE = "/payments/{id:path}/receipt.pdf"
STATEMENT_ROUTE = "/customers/{id:path}/statement.pdf"
# "+", "/" and "=" mean nothing special in a path; percent-encoding "/" would make some proxies
# refuse the request.
_ID_SAFE = "/+="


def pdf_path(global_id: str) -> str:
    """The PDF of a sales document, e.g. `/documents/SW52b2ljZToxMg==/pdf`."""
    return DOCUMENT_ROUTE.replace("{id:path}", quote(global_id, safe=_ID_SAFE))


def receipt_pdf_path(global_id: str) -> str:
    """The receipt of a payment."""
    return RECEIPT_ROUTE.replace("{id:path}", quote(global_id, safe=_ID_SAFE))


def statement_pdf_path(customer_global_id: str, start: date, end: date) -> str:
    """A customer's statement of accounts for a period."""
    path = STATEMENT_ROUTE.replace("{id:path}", quote(customer_global_id, safe=_ID_SAFE))
    return f"{path}?from={start.isoformat()}&to={end.isoformat()}"
