"""`POST /webhooks/gateways/{name}`: payment gateways tell Portico that a charge changed."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse

from integrations.gateways.base import BadWebhook
from resolvers.online_payments import handle_webhook

logger = logging.getLogger("portico.webhooks")

MAX_BODY = 64 * 1024


async def gateway_webhook(request: Request) -> JSONResponse:
    name = request.path_params["name"]
    body = await request.body()
    if len(body) > MAX_BODY:
        return JSONResponse({"error": "too large"}, status_code=413)
    try:
        await handle_webhook(name, dict(request.headers), body)
    except LookupError:
        return JSONResponse({"error": "unknown gateway"}, status_code=404)
    except BadWebhook as exc:
        logger.warning("Refused a %s webhook: %s", name, exc)
        return JSONResponse({"error": "invalid signature or payload"}, status_code=400)
    return JSONResponse({"received": True})
