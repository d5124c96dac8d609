"""File uploads as GraphQL multipart requests to `/graphql`: what a malformed or oversized
form gets (a 400 with a GraphQL-style error, never a 500), and what a good one delivers."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from tempfile import SpooledTemporaryFile
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from starlette import formparsers
from starlette.datastructures import UploadFile

from integrations import storage
from models.files import SharedFile
from server.settings import Settings
from tests.conftest import World, app_client, error_codes, gid
from tests.sample_files import PDF, pdf_of_size

BOUNDARY = "----PorticoBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
LIMIT = 3 * 1024 * 1024
# Bytes that look like the start of a boundary, to be kept as they are.
TRICKY = b"\r\n--\r\n------PorticoBoundary7MA4YWxk\r\n--" + BOUNDARY.encode()[:-1] + b"\x00"
UPLOAD = """mutation($input: UploadSharedFileInput!) { uploadSharedFile(input: $input) {
  sharedFile { filename size sha256 downloadUrl } errors { code } } }"""
VIEWER = "{ viewer { __typename } }"


@pytest.fixture
async def client(db: Settings, storage_root: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(db, files_dir=storage_root, max_upload_bytes=LIMIT) as http:
        yield http


def body(*parts: tuple[str, bytes]) -> bytes:
    """Built by hand, as a hostile client would: parts as (Content-Disposition params, data)."""
    chunks = [
        b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n"
        % (BOUNDARY.encode(), head.encode(), data)
        for head, data in parts
    ]
    return b"".join(chunks) + b"--%s--\r\n" % BOUNDARY.encode()


def operations(query: str = UPLOAD, **variables: Any) -> tuple[str, bytes]:
    return ('name="operations"', json.dumps({"query": query, "variables": variables}).encode())


def file_map(mapping: dict[str, list[str]]) -> tuple[str, bytes]:
    return ('name="map"', json.dumps(mapping).encode())


def upload_body(filename: str, content: bytes, customer_id: str) -> bytes:
    return body(
        operations(input={"customerId": customer_id, "file": None}),
        file_map({"0": ["variables.input.file"]}),
        (f'name="0"; filename="{filename}"', content),
    )


async def post(
    client: httpx.AsyncClient, world: World, data: bytes, content_type: str = CONTENT_TYPE
) -> httpx.Response:
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {world.tokens['staff']}"}
    return await client.post("/graphql", content=data, headers=headers)


def assert_refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert error_codes(response.json()) == ["BAD_REQUEST"]


def stored(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.parametrize(
    "data",
    [
        body(
            operations(VIEWER),
            file_map({}),
            *[(f'name="f{i}"; filename="f{i}.txt"', b"x") for i in range(11)],
        ),
        body(operations(VIEWER), file_map({}), *[(f'name="f{i}"', b"x") for i in range(19)]),
        body(operations(VIEWER), file_map({}), ('name="big"', b"x" * (1024 * 1024 + 1))),
        body(operations(VIEWER), operations(VIEWER), file_map({})),
        body(operations(VIEWER), file_map({}), ('filename="x.txt"', b"no name")),
        body(('name="operations"', b"{not json"), file_map({})),
        body(('name="operations"', b"5"), file_map({})),
        body(('name="operations"', b"[" * 5000 + b"]" * 5000), file_map({})),
        body(('name="operations"; filename="ops.json"', b'{"query": "{ x }"}'), file_map({})),
        body(operations(VIEWER), ('name="map"', b"[1, 2]")),
    ],
    ids=[
        "too-many-files",
        "too-many-fields",
        "oversized-field",
        "duplicate-part",
        "part-without-name",
        "operations-not-json",
        "operations-not-an-object",
        "operations-nested-deep",
        "operations-as-a-file",
        "map-not-an-object",
    ],
)
async def test_malformed_or_oversized_forms_are_refused(client, world: World, data: bytes) -> None:
    assert_refused(await post(client, world, data))


async def test_the_form_limits_leave_room_for_a_real_request(client, world: World) -> None:
    """One under each limit: 20 non-file parts, 10 files, a 1 MiB field."""
    padding = ('name="padding"', b"x" * (1024 * 1024 - 1))
    extra_fields = [(f'name="f{i}"', b"x") for i in range(17)]
    files = [(f'name="{i}"; filename="f{i}.txt"', b"x") for i in range(10)]
    data = body(operations(VIEWER), file_map({}), padding, *extra_fields, *files)
    response = await post(client, world, data)
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["__typename"] == "StaffUser"


async def test_a_truncated_body_is_refused_and_keeps_nothing(
    client, world: World, storage_root: Path
) -> None:
    data = upload_body("scan.pdf", PDF, gid("Customer", world.customer_a))
    for cut in (len(data) - 30, len(data) // 2, 60):
        assert_refused(await post(client, world, data[:cut]))
    assert stored(storage_root) == []
    assert await SharedFile.all().count() == 0


async def test_a_content_type_without_boundary_is_refused(client, world: World) -> None:
    data = body(operations(VIEWER), file_map({}))
    assert_refused(await post(client, world, data, content_type="multipart/form-data"))
    assert_refused(await post(client, world, data, content_type=f"{CONTENT_TYPE}x"))


@pytest.mark.parametrize(
    "mapping",
    [
        {"0": ["query.deeper"]},
        {"0": ["query"], "1": ["variables.input.file"]},
        {"0": ["variables.input.list.first"]},
        {"0": ["variables.input.file.x.y"]},
        {"0": [7]},
        {"text": ["variables.input.file"]},
    ],
    ids=["into-a-string", "missing-file", "list-by-name", "past-the-end", "not-a-path", "text"],
)
async def test_a_map_that_does_not_fit_the_operations_is_refused(
    client, world: World, mapping: dict, storage_root: Path
) -> None:
    data = body(
        operations(input={"file": None, "list": []}),
        file_map(mapping),
        ('name="text"', b"not a file"),
        ('name="0"; filename="a.txt"', b"text\n"),
    )
    assert_refused(await post(client, world, data))
    assert stored(storage_root) == []


async def test_a_utf8_file_name_and_boundary_like_bytes_arrive_intact(client, world: World) -> None:
    content = b"plain text\n" + TRICKY.replace(b"\x00", b"")
    data = upload_body("résumé.txt", content, gid("Customer", world.customer_a))
    result = (await post(client, world, data)).json()["data"]["uploadSharedFile"]
    assert result["errors"] == []
    assert result["sharedFile"]["filename"] == "résumé.txt"
    assert result["sharedFile"]["sha256"] == hashlib.sha256(content).hexdigest()

    pdf = upload_body("résumé.pdf", PDF, gid("Customer", world.customer_a))
    result = (await post(client, world, pdf)).json()["data"]["uploadSharedFile"]
    assert result["sharedFile"]["filename"] == "résumé.pdf"


async def test_a_form_without_files_is_an_ordinary_request(client, world: World) -> None:
    response = await post(client, world, body(operations(VIEWER), file_map({})))
    assert response.status_code == 200, response.text
    assert response.json()["data"]["viewer"]["__typename"] == "StaffUser"


@pytest.mark.slow
async def test_large_files_stream_through_in_chunks(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Larger than what the parser keeps in memory: spooled to disk and read piece by piece."""
    reads: list[int] = []
    read = UploadFile.read

    async def counted_read(self: UploadFile, size: int = -1) -> bytes:
        reads.append(size)
        return await read(self, size)

    monkeypatch.setattr(UploadFile, "read", counted_read)
    content = pdf_of_size(LIMIT - 100, filler=bytes(range(256)))
    data = upload_body("big.pdf", content, gid("Customer", world.customer_a))
    result = (await post(client, world, data)).json()["data"]["uploadSharedFile"]
    assert result["errors"] == []
    assert result["sharedFile"]["size"] == len(content) > formparsers.MultiPartParser.spool_max_size
    assert result["sharedFile"]["sha256"] == hashlib.sha256(content).hexdigest()
    assert reads and all(0 < size <= storage.CHUNK_BYTES for size in reads)
    download = await client.get(
        urlsplit(result["sharedFile"]["downloadUrl"]).path,
        headers={"Authorization": f"Bearer {world.tokens['staff']}"},
    )
    assert download.content == content

    too_large = content + b"0" * (LIMIT - len(content) + 1)
    data = upload_body("big.pdf", too_large, gid("Customer", world.customer_a))
    result = (await post(client, world, data)).json()["data"]["uploadSharedFile"]
    assert result["errors"] == [{"code": "FILE_TOO_LARGE"}]


async def test_temporary_files_are_closed_after_the_request(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    spooled: list[SpooledTemporaryFile] = []

    def spool(**kwargs: int) -> SpooledTemporaryFile:
        spooled.append(SpooledTemporaryFile(**kwargs))  # noqa: SIM115 - the request closes it
        return spooled[-1]

    monkeypatch.setattr(formparsers, "SpooledTemporaryFile", spool)
    customer = gid("Customer", world.customer_a)
    kept = await post(client, world, upload_body("a.txt", b"text\n", customer))
    assert kept.json()["data"]["uploadSharedFile"]["errors"] == []
    twice = body(
        operations(VIEWER),
        file_map({}),
        ('name="0"; filename="a.txt"', b"kept"),
        ('name="0"; filename="b.txt"', b"again"),
    )
    assert_refused(await post(client, world, twice))
    too_many = body(
        operations(VIEWER),
        file_map({}),
        *[(f'name="f{i}"; filename="f{i}.txt"', b"x") for i in range(11)],
    )
    assert_refused(await post(client, world, too_many))
    assert len(spooled) == 1 + 2 + 10
    assert all(file.closed for file in spooled)
