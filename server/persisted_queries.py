"""Automatic persisted queries on `/graphql`, Apollo's protocol: a request names its document by
SHA-256 in `extensions.persistedQuery` (`{"version": 1, "sha256Hash": "<hex>"}`), with or
without the text in `query`.

- Without the text, a known hash runs its document; an unknown one is answered with
  `PERSISTED_QUERY_NOT_FOUND` (HTTP 200), on which Apollo's clients send the text with the hash.
- With the text, the hash must be the text's SHA-256. A mismatch, another version or a malformed
  hash is the client's bug, refused before any GraphQL runs: HTTP 400 with BAD_REQUEST.

Which documents are then kept, and who may run them, is schema.persisted_queries' business.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from cross_web import HTTPException
from graphql import GraphQLError
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionResult

from resolvers.persisted_queries import APQ_EXTENSION, PersistedQueries, sha256_of

VERSION = 1
SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


async def with_document(
    request: GraphQLRequestData, persisted_queries: PersistedQueries
) -> GraphQLRequestData | ExecutionResult:
    """The request with its document's text, or the answer telling the client to send it."""
    sha256 = _named_hash(request.extensions or {})
    if sha256 is None:
        return request
    if request.query is None:
        text = await persisted_queries.text(sha256)
        if text is None:
            return ExecutionResult(data=None, errors=[_not_found()])
        return dataclasses.replace(request, query=text)
    if sha256_of(request.query) != sha256:
        raise HTTPException(400, "sha256Hash is not the SHA-256 of the query.")
    return request


def _named_hash(extensions: dict[str, Any]) -> str | None:
    persisted = extensions.get(APQ_EXTENSION)
    if persisted is None:
        return None
    if not isinstance(persisted, dict):
        raise HTTPException(400, f"extensions.{APQ_EXTENSION} must be an object.")
    version = persisted.get("version")
    if type(version) is not int or version != VERSION:
        raise HTTPException(400, f"Unsupported persisted query version: only {VERSION} is.")
    sha256 = persisted.get("sha256Hash")
    if not isinstance(sha256, str) or not SHA256_HEX.fullmatch(sha256):
        raise HTTPException(400, "sha256Hash must be 64 hexadecimal digits.")
    return sha256.lower()


def _not_found() -> GraphQLError:
    # The message, as well as the code, is what Apollo's clients look for.
    return GraphQLError("PersistedQueryNotFound", extensions={"code": "PERSISTED_QUERY_NOT_FOUND"})
