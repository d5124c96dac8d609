"""The name a stored file is shown and downloaded under, made safe from what the client sent.

Only the last path component is kept; control and invisible formatting characters (which can
disguise an extension) are dropped; characters no common file system accepts become "_"; no
leading dots, no reserved device names; NFC; at most 255 bytes of UTF-8; and the extension
always matches the type the content was found to be.
"""

from __future__ import annotations

import re
import unicodedata

from resolvers.file_types import KNOWN_EXTENSIONS, FileType

MAX_BYTES = 255
FALLBACK = "file"
_SEPARATORS = re.compile(r"[/\\]")
_UNSAFE = frozenset('<>:"|?*')
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_RESERVED = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{n}" for n in range(10)), *(f"lpt{n}" for n in range(10))}
)


def safe_filename(raw: str | None, kind: FileType) -> str:
    name = _last_component(unicodedata.normalize("NFC", raw or ""))
    name = "".join(_clean(char) for char in name)
    name = name.strip().lstrip(".").rstrip(". ")
    stem, extension = _split(name)
    if extension.lower() not in kind.extensions:
        if extension.lower() not in KNOWN_EXTENSIONS:
            stem = name  # an unknown extension stays part of the name: "setup.exe.txt"
        extension = kind.extensions[0]
    stem = stem or FALLBACK
    if stem.split(".")[0].strip().lower() in _RESERVED:
        stem = f"_{stem}"
    return unicodedata.normalize("NFC", _fit(stem, extension))


def extension_of(name: str) -> str:
    return name.rpartition(".")[2].lower() if "." in name else ""


def _last_component(name: str) -> str:
    parts = [part for part in _SEPARATORS.split(name) if part.strip()]
    return parts[-1] if parts else ""


def _clean(char: str) -> str:
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    return "_" if char in _UNSAFE else char


def _split(name: str) -> tuple[str, str]:
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem.rstrip(". "), extension


def _fit(stem: str, extension: str) -> str:
    suffix = f".{extension}".encode()
    room = MAX_BYTES - len(suffix)
    fitted = stem.encode()[:room].decode("utf-8", "ignore").rstrip(". ") or FALLBACK
    return fitted + suffix.decode()
