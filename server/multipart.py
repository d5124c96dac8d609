"""`multipart/form-data` request bodies, parsed as they stream in (RFC 7578).

For the GraphQL multipart request spec: a few small fields (`operations`, `map`) kept in
memory, and file parts spooled to temporary files (in memory up to 1 MiB). Limits on the
number of parts and files and on header and field sizes keep a hostile body cheap to refuse;
the body's total size is limited before it gets here (`server.limits`).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from email.message import Message
from email.utils import collapse_rfc2231_value
from tempfile import SpooledTemporaryFile

from starlette.datastructures import Headers, UploadFile

SPOOL_BYTES = 1024 * 1024
MAX_BOUNDARY = 70
Sink = Callable[[bytes], Awaitable[None]]


class MalformedForm(ValueError):
    pass


@dataclass(frozen=True)
class FormLimits:
    max_parts: int = 20
    max_files: int = 10
    max_field_bytes: int = 1024 * 1024
    max_header_bytes: int = 16 * 1024


@dataclass
class Form:
    fields: dict[str, str] = field(default_factory=dict)
    files: dict[str, UploadFile] = field(default_factory=dict)

    async def close(self) -> None:
        for upload in self.files.values():
            await upload.close()


async def parse_form(
    content_type: str, chunks: AsyncIterable[bytes], limits: FormLimits = FormLimits()
) -> Form:
    """The fields and files of a body; MalformedForm for anything RFC 7578 does not allow or
    the limits refuse (nothing is left open then)."""
    delimiter = b"\r\n--" + _boundary(content_type)
    # With a line break in front, the first boundary looks like every other one.
    reader = _Reader(chunks, initial=b"\r\n")
    form = Form()
    try:
        await reader.take_until(delimiter, limits.max_header_bytes)  # the preamble
        parts = 0
        while await _another_part(reader):
            parts += 1
            if parts > limits.max_parts:
                raise MalformedForm(f"More than {limits.max_parts} parts.")
            headers = _headers(await reader.take_until(b"\r\n\r\n", limits.max_header_bytes))
            await _read_part(reader, delimiter, headers, form, limits)
    except BaseException:
        await form.close()
        raise
    return form


async def _read_part(
    reader: _Reader, delimiter: bytes, headers: dict[str, str], form: Form, limits: FormLimits
) -> None:
    name, filename = _disposition(headers.get("content-disposition", ""))
    if name in form.fields or name in form.files:
        raise MalformedForm(f"Part {name!r} appears twice.")
    if filename is None:
        value = bytearray()

        async def keep(data: bytes) -> None:
            value.extend(data)

        await reader.copy_until(delimiter, keep, limits.max_field_bytes)
        try:
            form.fields[name] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedForm(f"Field {name!r} is not UTF-8.") from None
        return
    if len(form.files) >= limits.max_files:
        raise MalformedForm(f"More than {limits.max_files} files.")
    spool = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed with the form
    upload = UploadFile(spool, size=0, filename=filename, headers=_latin1(headers))
    form.files[name] = upload
    await reader.copy_until(delimiter, upload.write, None)
    await upload.seek(0)


async def _another_part(reader: _Reader) -> bool:
    """After a boundary: `--` ends the body, a line break starts a part."""
    if await reader.peek(2) == b"--":
        return False
    padding = await reader.take_until(b"\r\n", MAX_BOUNDARY)
    if padding.strip(b" \t"):
        raise MalformedForm("Unexpected bytes after a boundary.")
    return True


def _boundary(content_type: str) -> bytes:
    message = Message()
    message["content-type"] = content_type
    boundary = message.get_boundary()
    if (
        message.get_content_type() != "multipart/form-data"
        or not boundary
        or len(boundary) > MAX_BOUNDARY
        or not boundary.isascii()
    ):
        raise MalformedForm("Not a multipart/form-data content type with a boundary.")
    return boundary.encode("ascii")


def _headers(block: bytes) -> dict[str, str]:
    """Browsers send file names as raw UTF-8, so that is how the headers are read."""
    headers = {}
    for line in block.decode("utf-8", "replace").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise MalformedForm("A part header without a name.")
        headers[name.strip().lower()] = value.strip()
    return headers


def _latin1(headers: dict[str, str]) -> Headers:
    """As Starlette keeps headers; only the client's (ignored) content type is of interest."""
    raw = [
        (k.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for k, v in headers.items()
    ]
    return Headers(raw=raw)


def _disposition(value: str) -> tuple[str, str | None]:
    """The part's field name, and its file name (None: not a file)."""
    message = Message()
    message["content-disposition"] = value
    if message.get_content_disposition() != "form-data":
        raise MalformedForm("A part without Content-Disposition: form-data.")
    name = message.get_param("name", None, "content-disposition")
    if not name:
        raise MalformedForm("A part without a name.")
    return collapse_rfc2231_value(name), message.get_filename(None)


class _Reader:
    """A buffer over the body's chunks, for reading up to a marker."""

    def __init__(self, chunks: AsyncIterable[bytes], initial: bytes = b"") -> None:
        self._chunks: AsyncIterator[bytes] = aiter(chunks)
        self._buffer = bytearray(initial)

    async def peek(self, size: int) -> bytes:
        while len(self._buffer) < size:
            await self._more()
        return bytes(self._buffer[:size])

    async def take_until(self, marker: bytes, limit: int) -> bytes:
        """The bytes before `marker` (at most `limit` of them), consuming the marker too."""
        start = 0
        while (found := self._buffer.find(marker, start)) < 0:
            if len(self._buffer) > limit + len(marker):
                raise MalformedForm("A part header or preamble is too long.")
            start = max(0, len(self._buffer) - len(marker) + 1)
            await self._more()
        if found > limit:
            raise MalformedForm("A part header or preamble is too long.")
        data = bytes(self._buffer[:found])
        del self._buffer[: found + len(marker)]
        return data

    async def copy_until(self, marker: bytes, sink: Sink, limit: int | None) -> None:
        """Passes the bytes before `marker` on as they come; only a possible start of the
        marker is held back."""
        copied = 0
        while (found := self._buffer.find(marker)) < 0:
            ready = len(self._buffer) - (len(marker) - 1)
            if ready > 0:
                copied = await self._pass(sink, ready, copied, limit)
            await self._more()
        await self._pass(sink, found, copied, limit)
        del self._buffer[: len(marker)]

    async def _pass(self, sink: Sink, size: int, copied: int, limit: int | None) -> int:
        copied += size
        if limit is not None and copied > limit:
            raise MalformedForm(f"A field is larger than {limit} bytes.")
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        if data:
            await sink(data)
        return copied

    async def _more(self) -> None:
        try:
            chunk = await anext(self._chunks)
        except StopAsyncIteration:
            raise MalformedForm("The body ended in the middle of a part.") from None
        self._buffer += chunk
