"""Files attached to comments: kept in the shared file storage, exactly as visible as their
comment, and refused or removed without leaving bytes behind."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from models.comments import Comment
from models.files import SharedFile, StoredObjectOrphan
from tests.conftest import World, gql
from tests.sample_files import HTML, PDF, PNG
from tests.test_forwarding import sent
from tests.test_shared_files import set_uploads, stored

ADD = """mutation($input: AddCommentInput!) { addComment(input: $input) {
  comment { id attachments { id filename contentType downloadUrl } }
  errors { code field } } }"""
THREAD = """query($id: ID!) { salesDocument(id: $id) { comments { nodes {
  body attachments { filename } } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on SharedFile { filename } } }"
DELETE = "mutation($id: ID!) { deleteComment(input: {id: $id}) { deletedId errors { code } } }"


async def comment_with_files(
    client: httpx.AsyncClient,
    world: World,
    document_id: str,
    files: list[tuple[str, bytes]],
    *,
    who: str = "staff",
    internal: bool = False,
) -> dict:
    """addComment as a multipart request with one file part per attachment."""
    variables = {
        "input": {
            "documentId": document_id,
            "body": "See attached.",
            "internal": internal,
            "attachments": [None] * len(files),
        }
    }
    mapping = {str(index): [f"variables.input.attachments.{index}"] for index in range(len(files))}
    response = await client.post(
        "/graphql",
        data={
            "operations": json.dumps({"query": ADD, "variables": variables}),
            "map": json.dumps(mapping),
        },
        files={
            str(index): (name, content, "application/pdf")
            for index, (name, content) in enumerate(files)
        },
        headers={"Authorization": f"Bearer {world.tokens[who]}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


async def download(client: httpx.AsyncClient, url: str, who: str, world: World) -> httpx.Response:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"}
    return await client.get(urlsplit(url).path, headers=headers)


async def test_a_contact_reads_and_downloads_the_files_staff_attach(
    client, world: World, storage_root: Path
) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(
        client, world, invoice["id"], [("terms.pdf", PDF), ("logo.png", PNG)]
    )
    result = body["data"]["addComment"]
    assert result["errors"] == []
    attachments = result["comment"]["attachments"]
    assert [(a["filename"], a["contentType"]) for a in attachments] == [
        ("terms.pdf", "application/pdf"),
        ("logo.png", "image/png"),
    ]
    seen = await gql(client, THREAD, {"id": invoice["id"]}, token=world.tokens["contact_a"])
    [comment] = seen["data"]["salesDocument"]["comments"]["nodes"]
    assert [a["filename"] for a in comment["attachments"]] == ["terms.pdf", "logo.png"]
    response = await download(client, attachments[0]["downloadUrl"], "contact_a", world)
    assert response.status_code == 200
    assert response.content == PDF
    assert len(stored(storage_root)) == 2
    # Attachments belong to their comment, not to the shared documents area.
    listed = await gql(client, "{ sharedFiles { totalCount } }", token=world.tokens["contact_a"])
    assert listed["data"]["sharedFiles"]["totalCount"] == 0


async def test_an_internal_comments_files_never_reach_a_contact(client, world: World) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(
        client, world, invoice["id"], [("margin.pdf", PDF)], internal=True
    )
    [attachment] = body["data"]["addComment"]["comment"]["attachments"]
    for who in ("contact_a", "contact_b"):
        node = await gql(client, NODE, {"id": attachment["id"]}, token=world.tokens[who])
        assert node["data"]["node"] is None
        response = await download(client, attachment["downloadUrl"], who, world)
        assert response.status_code == 404
    staff = await download(client, attachment["downloadUrl"], "staff", world)
    assert staff.content == PDF


async def test_another_customers_contact_cannot_see_or_download_attachments(
    client, world: World
) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(client, world, invoice["id"], [("terms.pdf", PDF)])
    [attachment] = body["data"]["addComment"]["comment"]["attachments"]
    node = await gql(client, NODE, {"id": attachment["id"]}, token=world.tokens["contact_b"])
    assert node["data"]["node"] is None
    response = await download(client, attachment["downloadUrl"], "contact_b", world)
    assert response.status_code == 404


async def test_a_contact_attaches_files_only_while_the_portal_accepts_uploads(
    client, world: World, storage_root: Path
) -> None:
    invoice = await sent(client, world)
    await set_uploads(client, world, allowed=False)
    refused = await comment_with_files(
        client, world, invoice["id"], [("order.pdf", PDF)], who="contact_a"
    )
    assert refused["data"]["addComment"]["errors"] == [{"code": "UPLOADS_OFF", "field": None}]
    assert await Comment.all().count() == 0
    assert stored(storage_root) == []
    await set_uploads(client, world, allowed=True)
    accepted = await comment_with_files(
        client, world, invoice["id"], [("order.pdf", PDF)], who="contact_a"
    )
    assert len(accepted["data"]["addComment"]["comment"]["attachments"]) == 1


@pytest.mark.parametrize(
    "refused",
    [
        b"<!doctype html><script>alert(1)</script>",
        b"\x89PNG\r\n\x1a\n" + HTML,
        b"GIF89a" + HTML,
        b"%PDF-1.4\n" + HTML,
    ],
    ids=["html", "png-html", "gif-html", "pdf-html"],
)
async def test_one_refused_attachment_refuses_the_comment_and_leaves_nothing(
    client, world: World, storage_root: Path, refused: bytes
) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(
        client, world, invoice["id"], [("fine.pdf", PDF), ("page.png", refused)]
    )
    result = body["data"]["addComment"]
    assert result["comment"] is None
    assert result["errors"] == [{"code": "FILE_TYPE_NOT_ALLOWED", "field": ["attachments", "1"]}]
    assert await Comment.all().count() == 0
    assert await SharedFile.all().count() == 0
    assert stored(storage_root) == []
    assert await StoredObjectOrphan.all().count() == 0


async def test_at_most_five_attachments(client, world: World, storage_root: Path) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(
        client, world, invoice["id"], [(f"{n}.pdf", PDF) for n in range(6)]
    )
    assert body["data"]["addComment"]["errors"] == [{"code": "INVALID", "field": ["attachments"]}]
    assert stored(storage_root) == []


async def test_deleting_a_comment_removes_its_files(
    client, world: World, storage_root: Path
) -> None:
    invoice = await sent(client, world)
    body = await comment_with_files(client, world, invoice["id"], [("terms.pdf", PDF)])
    comment = body["data"]["addComment"]["comment"]
    assert len(stored(storage_root)) == 1
    deleted = await gql(client, DELETE, {"id": comment["id"]}, token=world.tokens["staff"])
    assert deleted["data"]["deleteComment"]["errors"] == []
    assert stored(storage_root) == []
    assert await SharedFile.all().count() == 0
    assert await StoredObjectOrphan.all().count() == 0


async def test_files_on_a_kind_the_portal_hides_are_hidden_with_their_comment(
    client, world: World
) -> None:
    order = await sent(client, world, kind="SALES_ORDER")
    body = await comment_with_files(client, world, order["id"], [("packing.pdf", PDF)])
    [attachment] = body["data"]["addComment"]["comment"]["attachments"]
    assert (await download(client, attachment["downloadUrl"], "contact_a", world)).content == PDF
    await gql(
        client,
        "mutation { updatePortalPreferences(input: {showSalesOrders: false}) { errors { code } } }",
        token=world.tokens["admin"],
    )
    node = await gql(client, NODE, {"id": attachment["id"]}, token=world.tokens["contact_a"])
    assert node["data"]["node"] is None
    response = await download(client, attachment["downloadUrl"], "contact_a", world)
    assert response.status_code == 404
    assert (await download(client, attachment["downloadUrl"], "staff", world)).content == PDF
