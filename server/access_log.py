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
            if isinstance(path, str):
                record.args = (*record.args[:2], redacted(path), *record.args[3:])
        return True


def redacted(path: str) -> str:
    """The path as the log may show it."""
    if "/public/" not in path:
        return path
    return _SECRET_PATH.sub("/public/[secret]", path.split("?", 1)[0])


def install() -> None:
    logging.getLogger("uvicorn.access").addFilter(RedactLinkSecrets())
