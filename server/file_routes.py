"""`GET /files/{id}`: a shared file, by its global id or its numeric id, streamed from storage.

Who may download what is exactly what GraphQL answers for the `SharedFile` node; not found and
not yours are alike 404. The file always comes as an attachment, with the type found in its
content, and with headers that stop a browser from sniffing or running anything in it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from auth.errors import NotFound
from auth.principals import Principal
from models.files import SharedFile
from resolvers import files
from schema.relay import row_id
from server.downloads import Authenticate, decode_global_id, guarded

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    # Opened in a tab after all, it still runs no script and reaches no origin's data.
    "Content-Security-Policy": "sandbox",
    "Cache-Control": "private, no-store",
}
_NOT_PLAIN = re.compile(r"[^A-Za-z0-9._ ()-]")


class FileDownloads:
    def __init__(self, authenticate: Authenticate) -> None:
        self.authenticate = authenticate

    async def shared_file(self, request: Request) -> Response:
        async def serve(principal: Principal) -> Response:
            row = await files.visible_file(principal, _file_id(request.path_params["id"]))
            chunks = await files.open_stored(row) if row is not None else None
            if row is None or chunks is None:
                raise NotFound("No such file.")
            return _file_response(row, chunks)

        return await guarded(request, self.authenticate, serve)


def _file_response(row: SharedFile, chunks: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        chunks,
        media_type=row.content_type,
        headers={
            **HEADERS,
            "Content-Disposition": attachment(row.filename),
            "Content-Length": str(row.size_bytes),
        },
    )


def attachment(filename: str) -> str:
    """RFC 6266 with an RFC 5987 `filename*` for the real name, and a plain ASCII one for
    clients that know only `filename`."""
    decomposed = unicodedata.normalize("NFKD", filename)
    # Accents fall away ("é" is "e" with one), anything else not plain becomes "_".
    ascii_name = "".join(char for char in decomposed if unicodedata.category(char) != "Mn")
    fallback = _NOT_PLAIN.sub("_", ascii_name).strip() or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _file_id(raw: str) -> int:
    if raw.isascii() and raw.isdigit():
        return row_id(raw)
    type_name, file_id = decode_global_id(raw)
    return file_id if type_name == "SharedFile" else 0
