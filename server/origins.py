"""Origins as browsers send them in the `Origin` header, for the allowed origins (settings) and
the check of a request's `Origin` against them (server.graphql): one spelling on both sides.

It is strawberry's rule (strawberry.http.websocket_origin.normalize_origin, which checks
websocket handshakes against the same origins), in the standard library: the settings use it, and
reading the settings must not import strawberry. tests/test_settings.py compares the two.
"""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_origin(origin: str) -> str | None:
    """Lowercase scheme and host, no default port: `https://Example.com:443` is
    `https://example.com`. None for what is not an origin (`null`, `https://[`)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if not parts.scheme or not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    # urlsplit leaves out the brackets of an IPv6 address.
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"
