"""The limits uploads are held to (resolvers.files), apart from the code that stores them so that
the settings can read their default without importing it."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class UploadRules:
    max_bytes: int = DEFAULT_MAX_UPLOAD_BYTES
