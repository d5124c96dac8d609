"""The streaming multipart/form-data parser behind file uploads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from tempfile import SpooledTemporaryFile

import pytest

from server import multipart
from server.multipart import FormLimits, MalformedForm, parse_form

BOUNDARY = "----PorticoBoundary7MA4YWxkTrZu0gW"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
# Bytes that look like the start of a boundary, to be kept as they are.
TRICKY = b"\r\n--\r\n------PorticoBoundary7MA4YWxk\r\n--" + BOUNDARY.encode()[:-1] + b"\x00\xff"


def body(*parts: tuple[str, bytes], boundary: str = BOUNDARY) -> bytes:
    chunks = [
        b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n"
        % (boundary.encode(), head.encode(), data)
        for head, data in parts
    ]
    return b"preamble\r\n" + b"".join(chunks) + b"--%s--\r\nepilogue" % boundary.encode()


async def chunked(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


SAMPLE = body(
    ('name="operations"', json.dumps({"query": "{ x }"}).encode()),
    ('name="map"', b'{"0": ["variables.file"]}'),
    ('name="0"; filename="résumé.pdf"', TRICKY),
)


@pytest.mark.parametrize("size", [1, 2, 7, 64, 65536])
async def test_parts_survive_any_chunking(size: int) -> None:
    form = await parse_form(CONTENT_TYPE, chunked(SAMPLE, size))
    assert form.fields == {"operations": '{"query": "{ x }"}', "map": '{"0": ["variables.file"]}'}
    upload = form.files["0"]
    assert await upload.read() == TRICKY
    await form.close()


async def test_file_names_are_read_as_utf8() -> None:
    form = await parse_form(CONTENT_TYPE, chunked(SAMPLE, 100))
    assert form.files["0"].filename == "résumé.pdf"
    await form.close()


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("multipart/form-data", SAMPLE),
        ("multipart/mixed; boundary=" + BOUNDARY, SAMPLE),
        (CONTENT_TYPE, SAMPLE[: len(SAMPLE) // 2]),
        (CONTENT_TYPE, body(("filename=\"x\"", b"no name"))),
        (CONTENT_TYPE, body(('name="a"', b"1"), ('name="a"', b"2"))),
        (CONTENT_TYPE, body(*[(f'name="f{i}"', b"x") for i in range(21)])),
        (CONTENT_TYPE, body(*[(f'name="f{i}"; filename="f"', b"x") for i in range(11)])),
        (CONTENT_TYPE, body(('name="big"', b"x" * (1024 * 1024 + 1)))),
        (CONTENT_TYPE, body(('name="bad"', b"\xff\xfe"))),
        (CONTENT_TYPE, body(('name="a"' + "; x=y" * 5000, b"1"))),
        (CONTENT_TYPE, b"--" + BOUNDARY.encode() + b"\r\nNo-Colon\r\n\r\nx\r\n"),
        (CONTENT_TYPE, b"--" + BOUNDARY.encode() + b"junk\r\n"),
    ],
    ids=[
        "no-boundary", "not-form-data", "truncated", "no-name", "duplicate", "many-parts",
        "many-files", "big-field", "not-utf8", "long-header", "bad-header", "after-boundary",
    ],
)  # fmt: skip
async def test_malformed_bodies_are_refused(content_type: str, data: bytes) -> None:
    with pytest.raises(MalformedForm):
        await parse_form(content_type, chunked(data, 4096), FormLimits())


async def test_a_refused_body_leaves_no_file_open(monkeypatch: pytest.MonkeyPatch) -> None:
    spooled: list[SpooledTemporaryFile] = []

    def spool(**kwargs: int) -> SpooledTemporaryFile:
        spooled.append(SpooledTemporaryFile(**kwargs))  # noqa: SIM115 - the parser closes it
        return spooled[-1]

    monkeypatch.setattr(multipart, "SpooledTemporaryFile", spool)
    data = body(('name="0"; filename="a.txt"', b"kept"), ('name="0"', b"again"))
    with pytest.raises(MalformedForm):
        await parse_form(CONTENT_TYPE, chunked(data, 16))
    assert [file.closed for file in spooled] == [True]


async def test_bad_multipart_requests_get_400_not_500(client, world) -> None:
    token = {"Authorization": f"Bearer {world.tokens['staff']}"}
    truncated = await client.post(
        "/graphql",
        content=SAMPLE[:100],
        headers={"Content-Type": CONTENT_TYPE, **token},
    )
    assert truncated.status_code == 400
    into_a_string = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": "{ viewer { __typename } }"}),
            "map": json.dumps({"0": ["query.deeper"]}),
        },
        files={"0": ("a.txt", b"text", "text/plain")},
        headers=token,
    )
    assert into_a_string.status_code == 400
    without_files = await client.post(
        "/graphql",
        content=body(
            ('name="operations"', json.dumps({"query": "{ viewer { __typename } }"}).encode()),
            ('name="map"', b"{}"),
        ),
        headers={"Content-Type": CONTENT_TYPE, **token},
    )
    assert without_files.json()["data"]["viewer"]["__typename"] == "StaffUser"
