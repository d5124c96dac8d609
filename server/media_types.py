"""Which media type a GraphQL response is sent as, from the request's `Accept` header
(GraphQL over HTTP).

- `application/json`, the default: every GraphQL response is HTTP 200, a request that never
  executed included (`data: null`).
- `application/graphql-response+json`: a request that never executed (parse, validation or
  variable errors, a refusal before execution) is a 4xx without a `data` entry, so that HTTP
  intermediaries and clients can tell it from a response with data.
"""

from __future__ import annotations

import math

JSON = "application/json"
GRAPHQL_RESPONSE = "application/graphql-response+json"


def negotiate(accept: str | None) -> str:
    """The media type the client prefers by its q-values. A tie is JSON unless the client named
    `application/graphql-response+json` itself (`*/*` alone means "anything", and JSON is what
    every client reads). An Accept naming neither is disregarded, as the spec allows, rather
    than answered with 406: the client still gets JSON it can read."""
    if not accept:
        return JSON
    json_q, _ = _quality(accept, JSON)
    response_q, response_named = _quality(accept, GRAPHQL_RESPONSE)
    if response_q > json_q or (response_q == json_q > 0 and response_named):
        return GRAPHQL_RESPONSE
    return JSON


def _quality(accept: str, media_type: str) -> tuple[float, bool]:
    """The q-value the most specific matching range gives `media_type`, and whether that
    range names it exactly."""
    kind = media_type.split("/")[0]
    best: tuple[int, float] = (-1, 0.0)
    for part in accept.split(","):
        name, *params = (piece.strip().lower() for piece in part.split(";"))
        specificity = {media_type: 2, f"{kind}/*": 1, "*/*": 0}.get(name)
        if specificity is None or specificity <= best[0]:
            continue
        best = (specificity, _q(params))
    return best[1], best[0] == 2


def _q(params: list[str]) -> float:
    for param in params:
        key, _, value = param.partition("=")
        if key.strip() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                q = math.nan
            # A malformed weight counts as "not acceptable", not as a fault.
            return min(max(q, 0.0), 1.0) if math.isfinite(q) else 0.0
    return 1.0
