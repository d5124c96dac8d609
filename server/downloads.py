"""What the authenticated download routes share: who may ask, and how a refusal looks.

The same authentication as /graphql (its own `authenticate_download`), the same refusals as
GraphQL gives before any field: anonymous is 401, a session that may only set up MFA 403; a
use case's coded errors keep their code (not found and not yours alike 404).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from strawberry import relay

from auth.errors import CodedError, Forbidden, MfaEnrollmentRequired, NotFound, Unauthenticated
from auth.principals import Anonymous, ContactPrincipal, Principal
from pdf.worker import RenderTooLarge
from resolvers import request_rows
from resolvers.database_outage import is_database_unreachable
from schema.relay import row_id

logger = logging.getLogger("portico.downloads")

Authenticate = Callable[[Request], Awaitable[Principal]]
Serve = Callable[[Principal], Awaitable[Response]]

PDF_TOO_LARGE = "PDF_TOO_LARGE"
TOO_LARGE_TO_PRINT = "This document is too large to print as a PDF."

STATUS = {Unauthenticated: 401, Forbidden: 403, MfaEnrollmentRequired: 403, NotFound: 404}


async def guarded(request: Request, authenticate: Authenticate, serve: Serve) -> Response:
    # As for a GraphQL request: the rows every request needs are read once and hold for it.
    with request_rows.kept_for_this_request():
        try:
            principal = await authenticate(request)
            require_full_session(principal)
            return await serve(principal)
        except CodedError as exc:
            return error_response(STATUS.get(type(exc), 400), exc.code, exc.message)
        except RenderTooLarge as exc:
            logger.warning("Refused to print %s: %s", request.url.path, exc)
            return error_response(422, PDF_TOO_LARGE, TOO_LARGE_TO_PRINT)
        except Exception as exc:
            if is_database_unreachable(exc):
                raise  # answered 503 "try again", as on every route, by server.unavailable
            logger.exception("Could not serve %s", request.url.path)
            return error_response(500, "INTERNAL_SERVER_ERROR", "Unexpected error.")


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The codes GraphQL puts in `extensions.code`."""
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


def require_full_session(principal: Principal) -> None:
    """Who GraphQL refuses before any field: nobody, and a session that may only set up MFA."""
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    if isinstance(principal, ContactPrincipal) and principal.mfa_enrollment_required:
        raise MfaEnrollmentRequired()


def decode_global_id(global_id: str) -> tuple[str, int]:
    """The type name and row id of a global id; an id that names nothing gives row id 0."""
    try:
        decoded = relay.GlobalID.from_id(global_id)
    except (relay.GlobalIDValueError, ValueError):
        return "", 0
    return decoded.type_name, row_id(decoded.node_id)
