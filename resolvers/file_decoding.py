"""Proof that an upload is the image or PDF its first bytes say it is: it must decode.

A PNG or GIF signature followed by HTML starts like an image and is none; so does `%PDF-`
followed by a script. Pillow decodes images and pypdf parses PDFs, in a small pool of threads of
their own: the event loop never waits for them, and at most `DECODERS` files decode at once.
Limits bound what decoding allocates, whatever sizes a file declares (decompression bombs).
Pillow and pypdf are imported by the first decode, in its thread: a process that takes no
upload never spends the tenth of a second of CPU their import costs.
"""

from __future__ import annotations

import asyncio
import functools
import io
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image

DECODERS = 2
# One frame, decoded: at most 4 bytes a pixel, so about 128 MiB. More than a 5K screenshot;
# photos are JPEG, decoded at an eighth of their width and height.
MAX_FRAME_PIXELS = 32_000_000
# All frames of an animation together, which bounds the time a GIF or WebP of many takes.
MAX_TOTAL_PIXELS = 256_000_000
# Every bit of a JPEG's compressed data is read at this scale too, in 1/64 of the memory.
_JPEG_SCALE = 8

_decoders = ThreadPoolExecutor(max_workers=DECODERS, thread_name_prefix="portico-decode")


@functools.cache
def _pillow() -> ModuleType:
    """PIL.Image, imported and set up by the first image to decode."""
    from PIL import Image

    # Pillow warns while opening an image past its own, higher, bomb limit; uploads are held to
    # the limits above right after, so the warning would only fill the log.
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)
    return Image


class _TooManyPixels(Exception):
    pass


async def is_image(content: bytes, image_format: str) -> bool:
    """Whether `content` decodes, every frame, as an image of Pillow's `image_format`."""
    return await _off_the_loop(_image_decodes, content, image_format)


async def is_pdf(content: bytes) -> bool:
    """Whether `content` parses as a PDF with at least one page whose contents decode."""
    return await _off_the_loop(_pdf_parses, content)


async def _off_the_loop(check: Callable[..., bool], *args: object) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_decoders, check, *args)


def _image_decodes(content: bytes, image_format: str) -> bool:
    pillow = _pillow()
    try:
        with pillow.open(io.BytesIO(content), formats=[image_format]) as image:
            image.verify()  # the structure, e.g. a PNG's chunks and their checksums
        with pillow.open(io.BytesIO(content), formats=[image_format]) as image:
            for frame in _frames(image):
                frame.load()
    except Exception:  # whatever a decoder raises, this is no image a viewer shows
        return False
    return True


def _frames(image: Image.Image) -> Iterable[Image.Image]:
    """The frames a viewer shows, each checked against the limits before it is decoded."""
    if image.format in ("JPEG", "MPO"):
        image.draft(image.mode, (_scaled(image.width), _scaled(image.height)))
        frames: Iterable[Image.Image] = [image]  # of several pictures, viewers show the first
    else:
        from PIL import ImageSequence

        frames = ImageSequence.Iterator(image)
    budget = MAX_TOTAL_PIXELS
    for frame in frames:
        pixels = frame.width * frame.height
        budget -= pixels
        if pixels > MAX_FRAME_PIXELS or budget < 0:
            raise _TooManyPixels(f"{frame.width}x{frame.height}")
        yield frame


def _scaled(length: int) -> int:
    return max(1, length // _JPEG_SCALE)


def _pdf_parses(content: bytes) -> bool:
    """pypdf holds each stream it decodes to its own limits (75 MB by default)."""
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(content))
        if reader.is_encrypted and not reader.decrypt(""):
            # Its cross-reference table and trailer parsed; the pages need the password.
            return True
        if len(reader.pages) == 0:
            return False
        for page in reader.pages:
            contents = page.get_contents()
            if contents is not None:
                contents.get_data()
    except Exception:  # whatever the parser raises, this is no PDF a reader opens
        return False
    return True
