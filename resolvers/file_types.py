"""Which files may be uploaded, decided from their bytes alone.

The client's declared type and the file's name are claims anyone can make; the content decides.
Only types a browser or office program opens without running anything are allowed: PDF, PNG,
JPEG, GIF, WebP, UTF-8 text (plain or CSV) and Office Open XML without macros. Markup (HTML,
SVG, XML), scripts, executables and other archives are refused. A signature is only a start:
images must decode and PDFs must parse (`file_decoding`), so a PNG signature followed by HTML is
no PNG.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from resolvers.file_decoding import is_image, is_pdf

HEAD_BYTES = 4096
# The end of a zip, where its directory of entries sits; a document's fits many times over.
TAIL_BYTES = 128 * 1024


@dataclass(frozen=True)
class FileType:
    content_type: str
    # The first is the one given to a name without a fitting extension.
    extensions: tuple[str, ...]


PDF = FileType("application/pdf", ("pdf",))
PNG = FileType("image/png", ("png",))
JPEG = FileType("image/jpeg", ("jpg", "jpeg"))
GIF = FileType("image/gif", ("gif",))
WEBP = FileType("image/webp", ("webp",))
TEXT = FileType("text/plain; charset=utf-8", ("txt", "text", "log"))
CSV = FileType("text/csv; charset=utf-8", ("csv",))
DOCX = FileType(
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ("docx",)
)
XLSX = FileType("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ("xlsx",))
PPTX = FileType(
    "application/vnd.openxmlformats-officedocument.presentationml.presentation", ("pptx",)
)
ALLOWED = (PDF, PNG, JPEG, GIF, WEBP, TEXT, CSV, DOCX, XLSX, PPTX)
KNOWN_EXTENSIONS = frozenset(ext for kind in ALLOWED for ext in kind.extensions)
# What proves a file of these types is one: it decodes.
_DECODES_AS: dict[FileType, Callable[[bytes], Awaitable[bool]]] = {
    PDF: is_pdf,
    PNG: partial(is_image, image_format="PNG"),
    JPEG: partial(is_image, image_format="JPEG"),
    GIF: partial(is_image, image_format="GIF"),
    WEBP: partial(is_image, image_format="WEBP"),
}

_MAGIC = (
    (b"%PDF-", PDF),
    (b"\x89PNG\r\n\x1a\n", PNG),
    (b"\xff\xd8\xff", JPEG),
    (b"GIF87a", GIF),
    (b"GIF89a", GIF),
)
_ZIP = b"PK\x03\x04"
_OFFICE_MAIN_PARTS = {
    "word/document.xml": DOCX,
    "xl/workbook.xml": XLSX,
    "ppt/presentation.xml": PPTX,
}
# Text a browser or a shell might treat as something to run or render.
_MARKUP = ("<!doctype", "<html", "<head", "<body", "<script", "<svg", "<iframe", "<?xml")


def text_type_for(extension: str) -> FileType:
    """Text is text: the name only tells plain text from CSV, both shown as they are."""
    return CSV if extension.lower() == "csv" else TEXT


class Sniffer:
    """Fed the upload chunk by chunk; tells at the start whether it may be allowed at all, and
    at the end what it is (None: refused). Keeps the bytes of an image or PDF to decode them;
    the upload's size limit bounds them."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.candidate = _candidate(head)
        self._text = _TextCheck() if self.candidate is TEXT else None
        self._tail = bytearray()
        self._content: list[bytes] = []
        self.size = 0

    @property
    def hopeless(self) -> bool:
        return self.candidate is None

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self._text is not None:
            self._text.feed(chunk)
        elif self.candidate is _ZIP_CANDIDATE:
            self._tail += chunk
            del self._tail[:-TAIL_BYTES]
        elif self.candidate in _DECODES_AS:
            self._content.append(chunk)

    async def verdict(self) -> FileType | None:
        if self.candidate is _ZIP_CANDIDATE:
            return _office_type(bytes(self._tail), self.size)
        if self._text is not None:
            return TEXT if self._text.finish() else None
        if self.candidate is None:
            return None
        content, self._content = b"".join(self._content), []
        return self.candidate if await _DECODES_AS[self.candidate](content) else None


@dataclass
class _TextCheck:
    decoder: codecs.IncrementalDecoder = field(
        default_factory=lambda: codecs.getincrementaldecoder("utf-8")()
    )
    valid: bool = True

    def feed(self, chunk: bytes) -> None:
        if not self.valid:
            return
        try:
            self.decoder.decode(chunk)
        except UnicodeDecodeError:
            self.valid = False
        self.valid = self.valid and b"\x00" not in chunk

    def finish(self) -> bool:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            self.valid = False
        return self.valid


# Stands for "a zip, maybe an Office document": decided once its directory has arrived.
_ZIP_CANDIDATE = FileType("application/zip", ())


def _candidate(head: bytes) -> FileType | None:
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head.startswith(_ZIP):
        return _ZIP_CANDIDATE
    return TEXT if _looks_like_text(head) else None


def _looks_like_text(head: bytes) -> bool:
    if not head or b"\x00" in head:
        return False
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(head)
    except UnicodeDecodeError:
        return False
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith(("<", "#!")):  # markup of any kind, or a script
        return False
    return not any(marker in text.lower() for marker in _MARKUP)


def _office_type(tail: bytes, size: int) -> FileType | None:
    names = _zip_names(tail, size)
    if names is None or "[Content_Types].xml" not in names:
        return None
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        return None  # macros
    found = {_OFFICE_MAIN_PARTS[name] for name in names if name in _OFFICE_MAIN_PARTS}
    return found.pop() if len(found) == 1 else None


_END = struct.Struct("<IHHHHIIH")
_ENTRY = 46


def _zip_names(tail: bytes, size: int) -> list[str] | None:
    """The entry names in a zip's central directory, read from the end of the file; None when
    the directory is not where a plain, single-part zip keeps it (nothing before or after)."""
    end = tail.rfind(b"PK\x05\x06")
    if end < 0 or len(tail) - end < _END.size:
        return None
    _, disk, directory_disk, here, total, directory_size, offset, comment = _END.unpack_from(
        tail, end
    )
    start = end - directory_size
    if disk or directory_disk or here != total or end + _END.size + comment != len(tail):
        return None
    if start < 0 or size - len(tail) + start != offset:
        return None
    names, position = [], start
    for _ in range(total):
        if tail[position : position + 4] != b"PK\x01\x02" or position + _ENTRY > end:
            return None
        name_length, extra_length, comment_length = struct.unpack_from("<HHH", tail, position + 28)
        name = tail[position + _ENTRY : position + _ENTRY + name_length]
        names.append(name.decode("utf-8", "replace"))
        position += _ENTRY + name_length + extra_length + comment_length
    return names if position == end else None
