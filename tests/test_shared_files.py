"""The shared documents area: uploads through real multipart requests, downloads, removal,
who may do what, and what a refused or interrupted upload leaves behind (nothing)."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import threading
import zipfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from pypdf import PdfWriter

from auth.api_keys import ApiScope, issue_api_key
from auth.sessions import SessionPolicy, start_session
from integrations import storage
from models.activity import Activity, ActivityKind, Notification
from models.customers import ContactPerson, PortalAccess
from models.files import SharedFile, StoredObjectOrphan
from resolvers import file_decoding, files
from schema.authentication import SESSION_COOKIE
from server.housekeeping import tidy_once
from server.limits import UPLOAD_OVERHEAD_BYTES
from server.settings import Settings
from tests.conftest import World, app_client, error_codes, gid, gql
from tests.sample_files import (
    GIF,
    HTML,
    JPEG,
    PDF,
    PNG,
    WEBP,
    animated_gif,
    pdf,
    pdf_of_size,
    png_of,
)

LIMIT = 1_536 * 1024  # above the 1 MiB body limit, to show uploads get their own
CSV = "name,amount\nÄpfel,3\n".encode()
ALLOWED_ORIGIN = "http://127.0.0.1:8000"

UPLOAD = """mutation($input: UploadSharedFileInput!) { uploadSharedFile(input: $input) {
  sharedFile { id filename contentType size sha256 description downloadUrl
               uploadedBy { kind name } customer { displayName } }
  errors { code field } } }"""
DELETE = """mutation($id: ID!) { deleteSharedFile(input: {id: $id}) {
  deletedId errors { code field } } }"""
LIST = """query($filter: SharedFileFilter, $orderBy: SharedFileOrder) {
  sharedFiles(filter: $filter, orderBy: $orderBy) { totalCount nodes { id filename } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on SharedFile { filename } } }"


@pytest.fixture
async def client(db: Settings, storage_root: Path) -> AsyncIterator[httpx.AsyncClient]:
    async with app_client(db, files_dir=storage_root, max_upload_bytes=LIMIT) as http:
        yield http


def stored(root: Path) -> list[Path]:
    """Every file in the storage directory, half-written ones included."""
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


async def post_upload(
    client: httpx.AsyncClient,
    content: bytes,
    filename: str,
    *,
    declared: str = "application/octet-stream",
    token: str | None = None,
    customer_id: str | None = None,
    description: str = "",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """A request as the GraphQL multipart request spec has it: operations, map, file part."""
    variables = {"input": {"customerId": customer_id, "file": None, "description": description}}
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": UPLOAD, "variables": variables}),
            "map": json.dumps({"0": ["variables.input.file"]}),
        },
        files={"0": (filename, content, declared)},
        headers={**auth, **(headers or {})},
    )


async def upload(client: httpx.AsyncClient, content: bytes, filename: str, **kwargs: Any) -> dict:
    response = await post_upload(client, content, filename, **kwargs)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]["uploadSharedFile"]


async def share(client, world: World, content: bytes = PDF, filename: str = "scan.pdf") -> dict:
    result = await upload(client, content, filename, token=world.tokens["staff"],
                          customer_id=gid("Customer", world.customer_a))  # fmt: skip
    assert result["errors"] == [], result
    return result["sharedFile"]


async def download(client, shared: dict, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return await client.get(urlsplit(shared["downloadUrl"]).path, headers=headers)


def _bearer(world: World, principal: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.tokens[principal]}"}


async def set_uploads(client, world: World, allowed: bool) -> None:
    body = await gql(
        client,
        "mutation($on: Boolean!) { updatePortalPreferences(input: "
        "{allowUploadsAndDetailEdits: $on}) { errors { code } } }",
        {"on": allowed},
        token=world.tokens["admin"],
    )
    assert body["data"]["updatePortalPreferences"]["errors"] == []


async def nothing_kept(root: Path) -> None:
    assert stored(root) == []
    assert await SharedFile.all().count() == 0
    assert await StoredObjectOrphan.all().count() == 0


def docx(*extra: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        for name in extra:
            archive.writestr(name, b"\x00" * 10)
    return buffer.getvalue()


async def test_staff_share_a_file_and_contacts_upload_theirs(
    client, world: World, storage_root: Path
) -> None:
    shared = await upload(client, PDF, "scan.pdf", declared="text/html",
                          token=world.tokens["staff"], description="Signed contract",
                          customer_id=gid("Customer", world.customer_a))  # fmt: skip
    assert shared["errors"] == []
    assert shared["sharedFile"] | {"id": None, "downloadUrl": None} == {
        "id": None,
        "filename": "scan.pdf",
        "contentType": "application/pdf",
        "size": len(PDF),
        "sha256": hashlib.sha256(PDF).hexdigest(),
        "description": "Signed contract",
        "downloadUrl": None,
        "uploadedBy": {"kind": "STAFF", "name": "Staff"},
        "customer": {"displayName": "Acorn Ltd"},
    }
    [event] = await Activity.filter(kind=ActivityKind.DOCUMENT_SHARED)
    assert (event.customer_id, event.visible_to_customer) == (world.customer_a.id, True)
    assert event.document_number == "scan.pdf"
    assert await Notification.all().count() == 0  # staff are not told what staff did

    own = await upload(client, CSV, "prices.csv", token=world.tokens["contact_a"])
    assert own["sharedFile"]["contentType"] == "text/csv; charset=utf-8"
    assert own["sharedFile"]["uploadedBy"] == {"kind": "CONTACT", "name": "Acorn Contact"}
    assert await Activity.filter(kind=ActivityKind.DOCUMENT_UPLOADED).count() == 1
    assert await Notification.all().count() == 2  # the organization's two staff users
    feed = await gql(
        client,
        "{ activities(filter: {kinds: [DOCUMENT_UPLOADED, FIRST_LOGIN]}) "
        "{ nodes { documentType documentNumber } } }",
        token=world.tokens["staff"],
    )
    assert feed["data"]["activities"]["nodes"] == [
        {"documentType": "SHARED_FILE", "documentNumber": "prices.csv"}
    ]
    assert len(stored(storage_root)) == 2

    listed = await gql(client, LIST, token=world.tokens["contact_a"])
    assert [n["filename"] for n in listed["data"]["sharedFiles"]["nodes"]] == [
        "prices.csv",
        "scan.pdf",
    ]
    by_contacts = await gql(client, LIST, {"filter": {"uploadedBy": "CONTACT"}},
                            token=world.tokens["staff"])  # fmt: skip
    assert [n["filename"] for n in by_contacts["data"]["sharedFiles"]["nodes"]] == ["prices.csv"]
    found = await gql(client, LIST, {"filter": {"search": "contract"}}, token=world.tokens["staff"])
    assert [n["filename"] for n in found["data"]["sharedFiles"]["nodes"]] == ["scan.pdf"]
    by_name = await gql(client, LIST, {"orderBy": {"field": "FILENAME", "direction": "DESC"}},
                        token=world.tokens["staff"])  # fmt: skip
    assert [n["filename"] for n in by_name["data"]["sharedFiles"]["nodes"]] == [
        "scan.pdf",
        "prices.csv",
    ]
    of_customer = await gql(
        client,
        "query($id: ID!) { customer(id: $id) { sharedFiles { totalCount } } }",
        {"id": gid("Customer", world.customer_a)},
        token=world.tokens["admin"],
    )
    assert of_customer["data"]["customer"]["sharedFiles"]["totalCount"] == 2


async def test_office_documents_are_told_apart_and_macros_refused(
    client, world: World, storage_root: Path
) -> None:
    word = await share(client, world, docx(), "minutes.xlsx")
    assert word["contentType"].endswith("wordprocessingml.document")
    assert word["filename"] == "minutes.docx"
    macros = await upload(client, docx("word/vbaProject.bin"), "macro.docx",
                          token=world.tokens["staff"],
                          customer_id=gid("Customer", world.customer_a))  # fmt: skip
    assert macros["errors"] == [{"code": "FILE_TYPE_NOT_ALLOWED", "field": ["file"]}]
    assert len(stored(storage_root)) == 1


async def test_downloads_give_the_exact_bytes_as_an_inert_attachment(client, world: World) -> None:
    shared = await share(client, world, PNG, "Grüße 2026.png")
    for principal in ("contact_a", "staff", "admin"):
        response = await download(client, shared, world.tokens[principal])
        assert response.status_code == 200, response.text
        assert response.content == PNG
        assert response.headers["content-type"] == "image/png"
        assert response.headers["content-disposition"] == (
            'attachment; filename="Gru_e 2026.png"; '
            f"filename*=UTF-8''{quote('Grüße 2026.png', safe='')}"
        )
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["content-security-policy"] == "sandbox"
        assert response.headers["cache-control"].startswith("private")
    row = await SharedFile.get()
    by_number = await client.get(f"/files/{row.id}", headers=_bearer(world, "staff"))
    assert by_number.content == PNG
    wrong_type = await client.get(f"/files/{gid('Customer', world.customer_a)}",
                                  headers=_bearer(world, "staff"))  # fmt: skip
    assert wrong_type.status_code == 404

    text = await share(client, world, b"plain words\n", "notes")
    response = await download(client, text, world.tokens["contact_a"])
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert text["filename"] == "notes.txt"


async def test_uploads_over_the_limit_leave_nothing(client, world: World, storage_root) -> None:
    assert (await share(client, world, pdf_of_size(LIMIT)))["size"] == LIMIT
    await SharedFile.all().delete()
    for path in stored(storage_root):
        path.unlink()

    one_too_many = await upload(client, pdf_of_size(LIMIT + 1), "big.pdf",
                                token=world.tokens["contact_a"])  # fmt: skip
    assert one_too_many["errors"] == [{"code": "FILE_TOO_LARGE", "field": ["file"]}]
    await nothing_kept(storage_root)

    response = await post_upload(client, b"0" * (LIMIT + UPLOAD_OVERHEAD_BYTES), "huge.txt",
                                 token=world.tokens["contact_a"])  # fmt: skip
    assert response.status_code == 413
    assert error_codes(response.json()) == ["PAYLOAD_TOO_LARGE"]
    await nothing_kept(storage_root)

    # Everything but an upload keeps the general limit.
    padded = {"query": "{ viewer { __typename } }", "variables": {"x": "0" * 1_048_576}}
    assert (await client.post("/graphql", json=padded)).status_code == 413


@pytest.mark.parametrize(
    ("content", "filename", "declared"),
    [
        (b"<!DOCTYPE html><html><script>alert(1)</script></html>", "photo.png", "image/png"),
        (
            b"  <svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
            "logo.svg",
            "image/svg+xml",
        ),
        (
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" * 40,
            "invoice.pdf",
            "application/pdf",
        ),
        (b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100, "report.pdf", "application/pdf"),
        (b"#!/bin/sh\nrm -rf ~\n", "notes.txt", "text/plain"),
        (b"hello\n" * 2000 + b"\x00", "late-nul.txt", "text/plain"),
        (b"caf\xe9\n" * 10, "latin1.txt", "text/plain"),
        (docx()[:-40], "broken.docx", "application/zip"),
    ],
    ids=["html-as-png", "svg", "exe-as-pdf", "elf", "script", "nul", "not-utf8", "broken-zip"],
)
async def test_disallowed_content_is_refused_whatever_it_claims(
    client, world: World, storage_root: Path, content: bytes, filename: str, declared: str
) -> None:
    result = await upload(client, content, filename, declared=declared,
                          token=world.tokens["contact_a"])  # fmt: skip
    assert result == {
        "sharedFile": None,
        "errors": [{"code": "FILE_TYPE_NOT_ALLOWED", "field": ["file"]}],
    }
    await nothing_kept(storage_root)


@pytest.mark.parametrize(
    ("content", "filename"),
    [
        (b"\x89PNG\r\n\x1a\n" + HTML, "photo.png"),
        (b"GIF89a" + HTML, "photo.gif"),
        (b"GIF87a" + HTML, "old.gif"),
        (b"\xff\xd8\xff\xe0" + HTML, "photo.jpg"),
        (b"RIFF\x60\x00\x00\x00WEBPVP8 " + HTML, "photo.webp"),
        (b"%PDF-1.7\n" + HTML, "invoice.pdf"),
        (PNG[:40] + HTML, "cut.png"),
        (b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
         "skeleton.pdf"),
        (png_of(8000, 8000), "bomb.png"),
    ],
    ids=["png-html", "gif-html", "gif87-html", "jpeg-html", "webp-html", "pdf-html",
         "png-cut-into-html", "pdf-skeleton", "decompression-bomb"],
)  # fmt: skip
async def test_what_only_starts_like_an_image_or_pdf_is_refused(
    client, world: World, storage_root: Path, content: bytes, filename: str
) -> None:
    """An image must decode and a PDF must parse; a signature followed by HTML is neither,
    and an image of more pixels than a server should unpack is refused before it is."""
    result = await upload(client, content, filename, token=world.tokens["contact_a"])
    assert result == {
        "sharedFile": None,
        "errors": [{"code": "FILE_TYPE_NOT_ALLOWED", "field": ["file"]}],
    }
    await nothing_kept(storage_root)


@pytest.mark.parametrize(
    ("content", "filename", "content_type"),
    [
        (PNG, "a.png", "image/png"),
        (JPEG, "a.jpg", "image/jpeg"),
        (GIF, "a.gif", "image/gif"),
        (animated_gif(3), "moving.gif", "image/gif"),
        (WEBP, "a.webp", "image/webp"),
        (png_of(4000, 3000), "screen.png", "image/png"),
        (PDF, "a.pdf", "application/pdf"),
    ],
)
async def test_images_that_decode_and_pdfs_that_parse_are_kept(
    client, world: World, content: bytes, filename: str, content_type: str
) -> None:
    shared = await share(client, world, content, filename)
    assert (shared["filename"], shared["contentType"]) == (filename, content_type)
    response = await download(client, shared, world.tokens["contact_a"])
    assert response.content == content


async def test_a_password_protected_pdf_is_kept(client, world: World) -> None:
    """Its pages cannot be read without the password, but its structure is a PDF's."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf()))
    writer.encrypt(user_password="only-the-customer-knows", algorithm="AES-256")
    protected = io.BytesIO()
    writer.write(protected)
    assert (await share(client, world, protected.getvalue(), "statement.pdf"))["size"]


async def test_an_animation_of_too_many_pixels_in_all_is_refused(
    client, world: World, storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each frame is decoded, so all of them together are limited too (here to two of 4x3)."""
    monkeypatch.setattr(file_decoding, "MAX_TOTAL_PIXELS", 2 * 4 * 3)
    assert (await share(client, world, animated_gif(2), "two.gif"))["contentType"] == "image/gif"
    result = await upload(client, animated_gif(3), "three.gif", token=world.tokens["contact_a"])
    assert result["errors"] == [{"code": "FILE_TYPE_NOT_ALLOWED", "field": ["file"]}]
    assert len(stored(storage_root)) == 1


async def test_other_requests_are_served_while_an_upload_is_decoded(
    client, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Decoding runs beside the event loop: a slow image holds up only its own upload."""
    started, finish = threading.Event(), threading.Event()
    decode = file_decoding._image_decodes

    def slow_decode(content: bytes, image_format: str) -> bool:
        started.set()
        finish.wait(timeout=10)
        return decode(content, image_format)

    monkeypatch.setattr(file_decoding, "_image_decodes", slow_decode)
    uploading = asyncio.create_task(share(client, world, PNG, "slow.png"))
    assert await asyncio.to_thread(started.wait, 10)
    viewer = await gql(client, "{ viewer { __typename } }", token=world.tokens["contact_a"])
    assert viewer["data"]["viewer"] == {"__typename": "ContactPerson"}
    assert not uploading.done()
    finish.set()
    assert (await uploading)["filename"] == "slow.png"


async def test_plain_zips_are_refused(client, world: World, storage_root: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("setup.exe", b"MZ")
    result = await upload(client, buffer.getvalue(), "docs.zip", token=world.tokens["contact_a"])
    assert result["errors"][0]["code"] == "FILE_TYPE_NOT_ALLOWED"
    await nothing_kept(storage_root)


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd", "passwd.txt"),
        ("..\\..\\windows\\win.ini", "win.ini.txt"),
        ("in\x01voi\x7fce\u202etxt.exe", "invoicetxt.exe.txt"),
        (".bashrc", "bashrc.txt"),
        ("CON.txt", "_CON.txt"),
        ("what?<is>this|.txt", "what__is_this_.txt"),
        ("e\u0301t\u00e9.txt", "\u00e9t\u00e9.txt"),
        ("x" * 400 + ".txt", "x" * 251 + ".txt"),
    ],
)
async def test_file_names_are_made_safe(
    client, world: World, storage_root: Path, sent: str, kept: str
) -> None:
    response = await client.post(
        "/graphql",
        content=_raw_multipart(sent, b"just text\n", world.tokens["contact_a"]),
        headers={
            "Content-Type": f"multipart/form-data; boundary={BOUNDARY}",
            "Authorization": f"Bearer {world.tokens['contact_a']}",
        },
    )
    result = response.json()["data"]["uploadSharedFile"]
    assert result["errors"] == []
    assert result["sharedFile"]["filename"] == kept
    [path] = stored(storage_root)
    assert path.is_relative_to(storage_root)
    assert kept not in str(path)  # stored under a key of the server's, not under the name
    assert not (storage_root.parent / "etc").exists()


BOUNDARY = "portico-test-boundary"


def _raw_multipart(filename: str, content: bytes, token: str) -> bytes:
    """Built by hand: HTTP clients escape odd file names, a hostile client would not."""
    operations = json.dumps({"query": UPLOAD, "variables": {"input": {"file": None}}})
    parts = [
        (b'name="operations"', operations.encode()),
        (b'name="map"', b'{"0": ["variables.input.file"]}'),
        (b'name="0"; filename="' + filename.encode() + b'"\r\nContent-Type: text/plain', content),
    ]
    body = b"".join(
        b"--%s\r\nContent-Disposition: form-data; %s\r\n\r\n%s\r\n"
        % (BOUNDARY.encode(), head, data)
        for head, data in parts
    )
    return body + b"--%s--\r\n" % BOUNDARY.encode()


async def test_another_customer_sees_and_touches_nothing(
    client, world: World, storage_root: Path
) -> None:
    shared = await share(client, world)
    for outsider in ("contact_b", "contact_other_org", "staff_other_org"):
        token = world.tokens[outsider]
        assert (await download(client, shared, token)).status_code == 404
        assert (await gql(client, NODE, {"id": shared["id"]}, token=token))["data"]["node"] is None
        listed = await gql(client, LIST, token=token)
        assert listed["data"]["sharedFiles"]["totalCount"] == 0
        refused = (await gql(client, DELETE, {"id": shared["id"]}, token=token))["data"]
        assert refused["deleteSharedFile"]["errors"] == [{"code": "NOT_FOUND", "field": ["id"]}]
        into_theirs = await upload(client, PDF, "x.pdf", token=token,
                                   customer_id=gid("Customer", world.customer_a))  # fmt: skip
        assert into_theirs["errors"] == [{"code": "NOT_FOUND", "field": ["customerId"]}]
    assert len(stored(storage_root)) == 1
    assert await SharedFile.all().count() == 1
    # The portal shows what its own contacts asked for by id, too.
    mine = await gql(client, NODE, {"id": shared["id"]}, token=world.tokens["contact_a"])
    assert mine["data"]["node"] == {"filename": "scan.pdf"}


async def test_contacts_remove_only_their_own_uploads(
    client, world: World, storage_root: Path
) -> None:
    staff_file = await share(client, world)
    own = (await upload(client, CSV, "mine.csv", token=world.tokens["contact_a"]))["sharedFile"]
    colleague = await _colleague_token(world)

    for token, file, code in (
        (world.tokens["contact_a"], staff_file, "NOT_YOUR_UPLOAD"),
        (colleague, own, "NOT_YOUR_UPLOAD"),
    ):
        refused = (await gql(client, DELETE, {"id": file["id"]}, token=token))["data"]
        assert refused["deleteSharedFile"]["errors"] == [{"code": code, "field": ["id"]}]
    assert len(stored(storage_root)) == 2

    removed = await gql(client, DELETE, {"id": own["id"]}, token=world.tokens["contact_a"])
    assert removed["data"]["deleteSharedFile"] == {"deletedId": own["id"], "errors": []}
    assert len(stored(storage_root)) == 1
    assert (await download(client, own, world.tokens["contact_a"])).status_code == 404
    [event] = await Activity.filter(kind=ActivityKind.DOCUMENT_REMOVED)
    assert (event.actor_contact_id, event.document_number) == (world.contact_a.id, "mine.csv")

    by_staff = await gql(client, DELETE, {"id": staff_file["id"]}, token=world.tokens["admin"])
    assert by_staff["data"]["deleteSharedFile"]["errors"] == []
    again = await gql(client, DELETE, {"id": staff_file["id"]}, token=world.tokens["admin"])
    assert again["data"]["deleteSharedFile"]["errors"][0]["code"] == "NOT_FOUND"
    await nothing_kept(storage_root)


async def _colleague_token(world: World) -> str:
    colleague = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Colleague",
        email="col@acorn.example", portal_access=PortalAccess.ACTIVE,
    )  # fmt: skip
    policy = SessionPolicy(idle=timedelta(hours=1), absolute=timedelta(hours=1))
    return (await start_session(policy, contact=colleague))[0]


async def test_the_preference_gates_uploads_not_reading(
    client, world: World, storage_root: Path
) -> None:
    own = (await upload(client, CSV, "mine.csv", token=world.tokens["contact_a"]))["sharedFile"]
    await set_uploads(client, world, False)

    refused = await upload(client, PDF, "late.pdf", token=world.tokens["contact_a"])
    assert refused == {"sharedFile": None, "errors": [{"code": "UPLOADS_OFF", "field": None}]}
    removal = await gql(client, DELETE, {"id": own["id"]}, token=world.tokens["contact_a"])
    assert removal["data"]["deleteSharedFile"]["errors"][0]["code"] == "UPLOADS_OFF"
    assert len(stored(storage_root)) == 1
    assert await StoredObjectOrphan.all().count() == 0

    listed = await gql(client, LIST, token=world.tokens["contact_a"])
    assert listed["data"]["sharedFiles"]["totalCount"] == 1
    assert (await download(client, own, world.tokens["contact_a"])).content == CSV
    assert (await share(client, world))["filename"] == "scan.pdf"  # staff still share


async def test_a_cookie_counts_for_an_upload_only_from_an_allowed_origin(
    client, world: World, storage_root: Path
) -> None:
    client.cookies.set(SESSION_COOKIE, world.tokens["contact_a"])
    for headers in ({"Origin": "https://evil.example"}, {}):
        response = await post_upload(client, PDF, "csrf.pdf", headers=headers)
        assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    await nothing_kept(storage_root)
    same_site = await upload(client, PDF, "mine.pdf", headers={"Origin": ALLOWED_ORIGIN})
    assert same_site["errors"] == []
    # JSON posts without an Origin keep working with the cookie, as before.
    viewer = await client.post("/graphql", json={"query": "{ viewer { __typename } }"})
    assert viewer.json()["data"]["viewer"]["__typename"] == "ContactPerson"


async def test_bytes_an_interrupted_upload_or_removal_leaves_are_cleaned_up(
    client, world: World, storage_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def crash(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the process died here")

    async def dead(key: str) -> None:
        """A dead process cleans up nothing."""

    monkeypatch.setattr(files, "_discard", dead)
    monkeypatch.setattr(files, "keep_staged", crash)
    response = await post_upload(client, PDF, "lost.pdf", token=world.tokens["staff"],
                                 customer_id=gid("Customer", world.customer_a))  # fmt: skip
    assert error_codes(response.json()) == ["INTERNAL_SERVER_ERROR"]
    monkeypatch.undo()
    monkeypatch.setattr(files, "_discard", dead)
    kept = await share(client, world)
    removed = await share(client, world, PNG, "gone.png")
    await gql(client, DELETE, {"id": removed["id"]}, token=world.tokens["staff"])
    assert len(stored(storage_root)) == 3
    assert await StoredObjectOrphan.all().count() == 2
    monkeypatch.undo()

    await tidy_once()  # too recent: an upload may still be on its way
    assert len(stored(storage_root)) == 3
    await StoredObjectOrphan.all().update(created_at=datetime.now(UTC) - timedelta(hours=1))
    await tidy_once()
    assert await StoredObjectOrphan.all().count() == 0
    assert len(stored(storage_root)) == 1
    assert (await download(client, kept, world.tokens["staff"])).content == PDF


async def test_partners_read_with_documents_scope_and_never_write(client, world: World) -> None:
    shared = await share(client, world)
    reader, _ = await issue_api_key(organization_id=world.org_a.id, name="Docs",
                                    scopes=[ApiScope.DOCUMENTS_READ],
                                    created_by_id=world.admin.id)  # fmt: skip
    listed = await gql(client, LIST, token=reader)
    assert listed["data"]["sharedFiles"]["totalCount"] == 1
    assert (await download(client, shared, reader)).content == PDF
    refused = await post_upload(client, PDF, "x.pdf", token=reader,
                                customer_id=gid("Customer", world.customer_a))  # fmt: skip
    assert error_codes(refused.json()) == ["FORBIDDEN"]
    assert error_codes(await gql(client, DELETE, {"id": shared["id"]}, token=reader)) == [
        "FORBIDDEN"
    ]
    no_scope = world.tokens["partner"]  # customers:read only
    assert error_codes(await gql(client, LIST, token=no_scope)) == ["FORBIDDEN"]
    assert (await download(client, shared, no_scope)).status_code == 403
    assert await SharedFile.all().count() == 1


async def test_anonymous_is_refused(client, world: World, storage_root: Path) -> None:
    shared = await share(client, world)
    response = await post_upload(
        client, PDF, "x.pdf", customer_id=gid("Customer", world.customer_a)
    )
    assert error_codes(response.json()) == ["UNAUTHENTICATED"]
    assert error_codes(await gql(client, LIST)) == ["UNAUTHENTICATED"]
    assert (await download(client, shared, None)).status_code == 401
    assert len(stored(storage_root)) == 1


async def test_upload_needs_a_file_part_and_staff_a_customer(client, world: World) -> None:
    as_json = await gql(client, UPLOAD, {"input": {"file": "not a file"}},
                        token=world.tokens["staff"])  # fmt: skip
    assert error_codes(as_json) == ["BAD_USER_INPUT"]
    no_customer = await upload(client, PDF, "x.pdf", token=world.tokens["staff"])
    assert no_customer["errors"] == [{"code": "REQUIRED", "field": ["customerId"]}]
    empty = await upload(client, b"", "x.pdf", token=world.tokens["contact_a"])
    assert empty["errors"] == [{"code": "INVALID", "field": ["file"]}]
    long = await upload(client, PDF, "x.pdf", token=world.tokens["contact_a"],
                        description="d" * 501)  # fmt: skip
    assert long["errors"] == [{"code": "TOO_LONG", "field": ["description"]}]
    assert await SharedFile.all().count() == 0


async def test_listing_costs_the_same_queries_for_any_page_size(
    client, world: World, count_queries
) -> None:
    query = """{ sharedFiles(first: 100) { totalCount nodes { filename downloadUrl
      customer { displayName }
      uploadedBy { kind staffUser { name } contactPerson { name } } } } }"""

    async def cost() -> int:
        count_queries.reset()
        body = await gql(client, query, token=world.tokens["admin"])
        assert "errors" not in body, body
        return count_queries.count

    await share(client, world)
    await upload(client, CSV, "a.csv", token=world.tokens["contact_a"])
    few = await cost()
    for index in range(6):
        await share(client, world, filename=f"more-{index}.pdf")
        await upload(client, CSV, f"b{index}.csv", token=world.tokens["contact_a"])
    assert await cost() == few


@pytest.mark.parametrize(
    "key", ["../../etc/passwd", "/etc/passwd", "ab/cd/../../../x", "ab/cd/" + "e" * 33, ""]
)
async def test_storage_takes_only_keys_of_its_own_making(tmp_path: Path, key: str) -> None:
    local = storage.LocalFileStorage(tmp_path)
    with pytest.raises(storage.StorageError):
        await local.exists(key)


async def test_local_storage_keeps_whole_files_or_nothing(tmp_path: Path) -> None:
    local = storage.LocalFileStorage(tmp_path / "files")

    async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    key = storage.new_key()
    assert await local.write(key, chunks(b"abc", b"def"), max_bytes=6) == 6
    assert b"".join([chunk async for chunk in await local.open(key)]) == b"abcdef"
    assert oct((tmp_path / "files" / key).stat().st_mode & 0o777) == "0o600"
    with pytest.raises(storage.TooLarge):
        await local.write(storage.new_key(), chunks(b"abc", b"defg"), max_bytes=6)
    assert stored(tmp_path / "files") == [tmp_path / "files" / key]
    await local.delete(key)
    assert not await local.exists(key)
    with pytest.raises(storage.StoredObjectMissing):
        await local.open(key)
