"""File storage behind one small interface: bytes under keys the server makes up.

Keys are random and sharded (`ab/cd/abcd...`), never derived from anything a user sent, so a
name cannot collide, guess its way to another file or climb out of the root. The default keeps
the files in a local directory; another backend (an object store) implements `FileStorage`.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_BYTES = 64 * 1024
_KEY = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}$")


class StorageError(Exception):
    pass


class TooLarge(StorageError):
    """The stream went past the size limit; nothing was kept."""


class StoredObjectMissing(StorageError):
    pass


class FileStorage(Protocol):
    async def write(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> int:
        """Stores the stream under `key` and returns its size; nothing is kept if it fails."""
        ...

    async def open(self, key: str) -> AsyncIterator[bytes]:
        """The stored bytes as chunks; StoredObjectMissing when there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Removes the bytes, and any half-written ones; a missing key is no error."""
        ...

    async def exists(self, key: str) -> bool: ...


def new_key() -> str:
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}"


class LocalFileStorage:
    """Files in a directory of their own, outside anything a web server serves."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    async def write(self, key: str, chunks: AsyncIterable[bytes], *, max_bytes: int) -> int:
        path = self._path(key)
        partial = _partial(path)
        await asyncio.to_thread(path.parent.mkdir, mode=0o700, parents=True, exist_ok=True)
        handle = await asyncio.to_thread(_create, partial)
        size = 0
        try:
            try:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise TooLarge(f"more than {max_bytes} bytes")
                    await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(_flush, handle)
            finally:
                await asyncio.to_thread(handle.close)
            # Appears under its key only complete: a reader never sees half a file.
            await asyncio.to_thread(os.replace, partial, path)
        except BaseException:
            await asyncio.to_thread(_unlink, partial)
            raise
        return size

    async def open(self, key: str) -> AsyncIterator[bytes]:
        try:
            handle = await asyncio.to_thread(open, self._path(key), "rb")
        except FileNotFoundError as exc:
            raise StoredObjectMissing(key) from exc
        return _chunks(handle)

    async def delete(self, key: str) -> None:
        path = self._path(key)
        await asyncio.to_thread(_unlink, path)
        await asyncio.to_thread(_unlink, _partial(path))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise StorageError(f"not a storage key: {key!r}")
        path = (self.root / key).resolve()
        # The pattern already rules it out; a symlinked shard must not lead elsewhere either.
        if not path.is_relative_to(self.root):
            raise StorageError(f"storage key outside the root: {key!r}")
        return path


def _partial(path: Path) -> Path:
    return path.with_name(path.name + ".part")


def _create(path: Path) -> BinaryIO:
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
    return os.fdopen(os.open(path, flags, 0o600), "wb")


def _flush(handle: BinaryIO) -> None:
    handle.flush()
    os.fsync(handle.fileno())


def _unlink(path: Path) -> None:
    path.unlink(missing_ok=True)


async def _chunks(handle: BinaryIO) -> AsyncIterator[bytes]:
    try:
        while chunk := await asyncio.to_thread(handle.read, CHUNK_BYTES):
            yield chunk
    finally:
        await asyncio.to_thread(handle.close)


_storage: FileStorage | None = None


def install(storage: FileStorage) -> None:
    global _storage
    _storage = storage


def current() -> FileStorage:
    if _storage is None:
        raise RuntimeError("No file storage is installed (server.app installs it)")
    return _storage
