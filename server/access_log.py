"""Keeps public link secrets out of the log: a link's secret is in its PDF path, and a log line
must not be enough to open the document. The request log (server.request_log) and the lines of
server.unavailable show paths as `redacted` gives them."""

from __future__ import annotations

import re

_SECRET_PATH = re.compile(r"/public/[^/?\s]+")


def redacted(path: str) -> str:
    """The path as the log may show it (an ASGI path has no query string; a URL's is cut)."""
    if "/public/" not in path:
        return path
    return _SECRET_PATH.sub("/public/[secret]", path.split("?", 1)[0])
