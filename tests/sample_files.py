"""Real files for upload tests: images that decode and PDFs that open."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

HTML = b"<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"


def image(image_format: str, size: tuple[int, int] = (4, 3), **options: object) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(buffer, image_format, **options)
    return buffer.getvalue()


def animated_gif(frames: int) -> bytes:
    pictures = [Image.new("RGB", (4, 3), (60 * n, 0, 0)) for n in range(frames)]
    buffer = io.BytesIO()
    pictures[0].save(buffer, "GIF", save_all=True, append_images=pictures[1:], duration=100)
    return buffer.getvalue()


def png_of(width: int, height: int) -> bytes:
    """A valid grey PNG of that size: all black, so its pixels compress to almost nothing."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (width + 1)  # a filter byte, then the pixels
    pixels = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", pixels)
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data)
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


def pdf(padding: bytes = b"") -> bytes:
    """A one-page PDF; `padding` is the data of a stream no page uses, to make it larger."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100] /Contents 4 0 R >>",
        _stream(b"BT /F1 12 Tf 20 50 Td (Signed) Tj ET"),
        _stream(padding),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def pdf_of_size(size: int, filler: bytes = b"0") -> bytes:
    """A PDF of exactly `size` bytes, padded with repeats of `filler`."""
    padding = len(filler) * max(0, (size - len(pdf())) // len(filler))
    content = pdf((filler * size)[:padding])
    while len(content) != size:  # the stream's /Length grew or shrank by a digit
        padding -= len(content) - size
        content = pdf((filler * size)[:padding])
    return content


def _stream(data: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n%s\nendstream" % (len(data), data)


PDF = pdf()
PNG = image("PNG")
JPEG = image("JPEG")
GIF = image("GIF")
WEBP = image("WEBP")
