"""Rendered PDFs kept as files under `<PORTICO_VAR_DIR>/pdf-cache/`.

A file's name holds what it shows: the row and its version, the language, and a digest of
everything the template is given plus the templates and translations themselves. A changed
document, a payment that failed since, a renamed organization or a new release all make a new
name, so a file is never stale, only unused; the least recently used go once the directory
outgrows its budget. Several processes may share the directory: files appear whole (temporary
file, then `os.replace`) and one that vanishes under a reader is rendered again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pdf import renderer, worker

logger = logging.getLogger("portico.pdf")

DEFAULT_DIRECTORY = Path("var") / "pdf-cache"
DEFAULT_MAX_BYTES = 500 * 1024 * 1024
# Pruning lists the whole directory, so it runs every so many writes rather than on each.
PRUNE_EVERY = 50
# What a prune leaves, as a share of the budget, so the next one is not due at once.
PRUNE_TO = 0.8
ABANDONED_TEMP_SECONDS = 3600

_directory = DEFAULT_DIRECTORY
_max_bytes = DEFAULT_MAX_BYTES
_writes = 0
# Renders under way by file name: a second request for the same PDF waits for the first.
_in_flight: dict[str, asyncio.Task[bytes]] = {}


def configure(directory: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
    global _directory, _max_bytes
    _directory, _max_bytes = Path(directory), max_bytes


def directory() -> Path:
    return _directory


async def cached_pdf(stem: str, template: str, context: dict[str, Any], language: str) -> bytes:
    """The PDF of `template` with `context`, from the cache or rendered now. `stem` names the
    row and its version (e.g. `invoice-12-v3-de`); the digest of the context completes it."""
    name = f"{stem}-{_digest(template, context, language)}.pdf"
    path = _directory / name
    with contextlib.suppress(FileNotFoundError):
        return await asyncio.to_thread(_read, path)
    task = _in_flight.get(name)
    if task is None:
        # A task of its own: a client that gives up does not waste the render for the others.
        task = asyncio.create_task(_render(path, template, context, language))
        _in_flight[name] = task
        task.add_done_callback(functools.partial(_finished, name))
    return await asyncio.shield(task)


async def _render(path: Path, template: str, context: dict[str, Any], language: str) -> bytes:
    pdf = await renderer.render_pdf(template, context, language)
    try:
        await asyncio.to_thread(_write, path, pdf)
    except OSError:  # a full or read-only disk costs renders, not downloads
        logger.warning("Could not cache %s", path, exc_info=True)
    return pdf


def _finished(name: str, task: asyncio.Task[bytes]) -> None:
    _in_flight.pop(name, None)
    if not task.cancelled():
        task.exception()  # seen, even when every client waiting for it has gone


def _digest(template: str, context: dict[str, Any], language: str) -> str:
    what = [worker.fingerprint(), template, language, context]
    payload = json.dumps(what, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:24]


def _read(path: Path) -> bytes:
    pdf = path.read_bytes()
    # Used just now: the last to be pruned.
    with contextlib.suppress(OSError):
        os.utime(path)
    return pdf


def _write(path: Path, pdf: bytes) -> None:
    global _writes
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".", suffix=".tmp", delete=False) as f:
        f.write(pdf)
    os.replace(f.name, path)
    _writes += 1
    if _writes % PRUNE_EVERY == 1:
        prune(path.parent, _max_bytes)


def prune(directory: Path, max_bytes: int) -> None:
    """Removes the least recently used PDFs beyond `max_bytes`, and temporary files a crashed
    writer left behind."""
    files: list[tuple[float, int, Path]] = []
    now = time.time()
    for entry in os.scandir(directory):
        with contextlib.suppress(FileNotFoundError):
            stat = entry.stat()
            if entry.name.endswith(".tmp"):
                if now - stat.st_mtime > ABANDONED_TEMP_SECONDS:
                    os.unlink(entry.path)
            elif entry.name.endswith(".pdf"):
                files.append((stat.st_mtime, stat.st_size, Path(entry.path)))
    total = sum(size for _, size, _ in files)
    if total <= max_bytes:
        return
    for _, size, path in sorted(files):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        total -= size
        if total <= max_bytes * PRUNE_TO:
            return
