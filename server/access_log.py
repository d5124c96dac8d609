"""Keeps public link secrets out of the access log: a link's secret is in its PDF path, and a
log line must not be enough to open the document."""

from __future__ import annotations

import logging
import re

_SECRET_PATH = re.compile(r"/public/[^/?\s]+")


class RedactLinkSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access records carry (client, method, path, http version, status).
        if isinstance(record.args, tuple) and len(record.args) >= 3:
            path = record.args[2]
            if isinstance(path, str) and "/public/" in path:
                redacted = _SECRET_PATH.sub("/public/[secret]", path.split("?", 1)[0])
                record.args = (*record.args[:2], redacted, *record.args[3:])
        return True


def install() -> None:
    logging.getLogger("uvicorn.access").addFilter(RedactLinkSecrets())
