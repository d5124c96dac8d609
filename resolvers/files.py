"""The shared documents area: files staff share with a customer and files its portal contacts
upload, and the one way any feature stores an upload (comment attachments too).

Bytes and rows never drift apart for good. A `StoredObjectOrphan` is committed before the first
byte is written and removed in the transaction that creates the `SharedFile`; removing a file
deletes its row and records the orphan in one transaction, and the bytes go after the commit.
Whatever a crash interrupts, housekeeping finds the orphan and deletes the bytes.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Protocol
from urllib.parse import quote

from auth.principals import ContactPrincipal, Principal, StaffPrincipal
from auth.scoping import scoped
from integrations import storage
from models.activity import ActivityKind, ActivitySubject
from models.customers import Customer
from models.files import SharedFile, StoredObjectOrphan
from resolvers import activity, portal_features, transactions
from resolvers.customers import get_customer
from resolvers.document_visibility import visible_comments
from resolvers.errors import ErrorCode, reject
from resolvers.file_names import extension_of, safe_filename
from resolvers.file_types import HEAD_BYTES, TEXT, FileType, Sniffer, text_type_for
from resolvers.upload_rules import UploadRules
from resolvers.validation import Checker

logger = logging.getLogger("portico.files")

DESCRIPTION_LIMIT = 500
# Longer than any upload takes between its orphan record and its commit.
ORPHAN_GRACE = timedelta(minutes=15)
ORPHAN_BATCH = 500
DOWNLOAD_ROUTE = "/files/{id:path}"


class IncomingFile(Protocol):
    """An uploaded file as the web framework hands it over (Starlette's UploadFile)."""

    filename: str | None

    async def read(self, size: int = -1) -> bytes: ...


_rules = UploadRules()


def configure(rules: UploadRules) -> None:
    global _rules
    _rules = rules


@dataclass(frozen=True)
class StagedFile:
    """Bytes in storage, not yet kept: their orphan record stands until a row claims them."""

    key: str
    filename: str
    kind: FileType
    size: int
    sha256: str


async def store_upload(
    principal: StaffPrincipal | ContactPrincipal,
    customer_id: int | None,
    upload: IncomingFile,
    *,
    description: str = "",
) -> SharedFile:
    """Keeps an upload in a customer's shared documents area.

    Staff name the customer; a portal contact uploads to its own, while the portal allows
    uploads. Writes the bytes before its own transaction, so call it outside a unit of work.
    """
    customer = await _upload_target(principal, customer_id)
    checker = Checker()
    description = checker.text(description, ["description"], max_length=DESCRIPTION_LIMIT)
    checker.raise_if_any()
    async with staged_uploads([(upload, ["file"])]) as [staged], transactions.unit_of_work():
        row = await keep_staged(principal, customer, staged, description=description)
        _record(principal, row, _shared_kind(principal))
    return row


@asynccontextmanager
async def staged_uploads(
    uploads: Sequence[tuple[IncomingFile, Sequence[str]]],
) -> AsyncIterator[list[StagedFile]]:
    """Writes the uploads (each with the input field it came in) to storage, checking size and
    type; the block then keeps them with `keep_staged` in its own unit of work. If anything
    fails, no bytes stay behind."""
    if transactions.current() is not None:
        raise RuntimeError("Uploads are staged before the unit of work that keeps them")
    staged: list[StagedFile] = []
    try:
        for upload, field in uploads:
            staged.append(await _stage(upload, field))
        yield staged
    except BaseException:
        for file in staged:
            await _discard(file.key)
        raise


async def require_uploads(principal: StaffPrincipal | ContactPrincipal) -> None:
    """Portal contacts upload (shared files and attachments) only while the portal allows it."""
    if isinstance(principal, ContactPrincipal):
        await _require_uploads(principal)


async def delete_shared_file(principal: StaffPrincipal | ContactPrincipal, file_id: int) -> int:
    """Staff remove any file of the shared area; a contact only its own uploads, while the
    portal allows uploads. Returns the id of the removed file."""
    row = await scoped(SharedFile, principal).get_or_none(id=file_id, comment_id=None)
    if row is None:
        raise reject(ErrorCode.NOT_FOUND, "No such file.", ["id"])
    if isinstance(principal, ContactPrincipal):
        await _require_uploads(principal)
        if row.uploaded_by_contact_id != principal.contact.id:
            raise reject(
                ErrorCode.NOT_YOUR_UPLOAD, "You can remove only files you uploaded.", ["id"]
            )
    async with transactions.unit_of_work():
        if not await SharedFile.filter(id=row.id).delete():
            raise reject(ErrorCode.NOT_FOUND, "No such file.", ["id"])
        await release_stored([row.storage_key])
        _record(principal, row, ActivityKind.DOCUMENT_REMOVED)
    return row.id


async def release_stored(keys: Sequence[str]) -> None:
    """Inside the unit of work that deletes the rows of these keys: their bytes go once it
    commits, and if that never happens in this process, housekeeping removes them."""
    if not keys:
        return
    await StoredObjectOrphan.bulk_create([StoredObjectOrphan(storage_key=key) for key in keys])
    for key in keys:
        await transactions.after_commit(partial(_discard, key))


async def visible_file(principal: Principal, file_id: int) -> SharedFile | None:
    row = await scoped(SharedFile, principal).get_or_none(id=file_id)
    [visible] = await hide_unseen_attachments(principal, [row])
    return visible


async def hide_unseen_attachments(
    principal: Principal, rows: Sequence[SharedFile | None]
) -> list[SharedFile | None]:
    """An attachment is as visible as its comment (a comment on a draft is the staff's own)."""
    comment_ids = {row.comment_id for row in rows if row is not None and row.comment_id}
    seen: set[int] = set()
    if comment_ids:
        query = (await visible_comments(principal)).filter(id__in=list(comment_ids))
        seen = set(await query.values_list("id", flat=True))
    return [
        row if row is None or row.comment_id is None or row.comment_id in seen else None
        for row in rows
    ]


async def open_stored(row: SharedFile) -> AsyncIterator[bytes] | None:
    """The file's bytes as chunks; None if they are gone, which only an operator can cause."""
    try:
        return await storage.current().open(row.storage_key)
    except storage.StoredObjectMissing:
        logger.error("The bytes of shared file %s (%s) are missing", row.id, row.storage_key)
        return None


def download_path(global_id: str) -> str:
    """e.g. `/files/U2hhcmVkRmlsZTox`: global ids are base64, "/", "+" and "=" included."""
    return DOWNLOAD_ROUTE.replace("{id:path}", quote(global_id, safe="/+="))


async def prune_orphans(older_than: timedelta = ORPHAN_GRACE) -> int:
    """Deletes the bytes of orphans older than `older_than`, then the records; returns how many."""
    cutoff = datetime.now(UTC) - older_than
    pruned = 0
    while orphans := await StoredObjectOrphan.filter(created_at__lt=cutoff).limit(ORPHAN_BATCH):
        keys = [orphan.storage_key for orphan in orphans]
        claimed = set(
            await SharedFile.filter(storage_key__in=keys).values_list("storage_key", flat=True)
        )
        for key in keys:
            if key not in claimed:
                await storage.current().delete(key)
        await StoredObjectOrphan.filter(id__in=[orphan.id for orphan in orphans]).delete()
        pruned += len(orphans)
    return pruned


async def _upload_target(
    principal: StaffPrincipal | ContactPrincipal, customer_id: int | None
) -> Customer:
    if isinstance(principal, ContactPrincipal):
        await _require_uploads(principal)
        customer_id = principal.customer_id if customer_id is None else customer_id
    elif customer_id is None:
        raise reject(ErrorCode.REQUIRED, "Choose the customer to share with.", ["customerId"])
    return await get_customer(principal, customer_id, field="customerId")


async def _require_uploads(principal: ContactPrincipal) -> None:
    await portal_features.require(portal_features.UPLOADS, principal.organization_id)


async def _stage(upload: IncomingFile, field: Sequence[str]) -> StagedFile:
    """Writes the upload to storage, checking size and type on the way; a refused upload
    leaves nothing behind. The orphan record is committed before the first byte is written."""
    head = await _read_head(upload)
    if not head:
        raise reject(ErrorCode.INVALID, "The file is empty.", field)
    sniffer = Sniffer(head)
    if sniffer.hopeless:
        raise _not_allowed(field)
    key = storage.new_key()
    await StoredObjectOrphan.create(storage_key=key)
    digest = hashlib.sha256()

    async def chunks() -> AsyncIterator[bytes]:
        chunk = head
        while chunk:
            sniffer.feed(chunk)
            digest.update(chunk)
            yield chunk
            chunk = await upload.read(storage.CHUNK_BYTES)

    try:
        size = await storage.current().write(key, chunks(), max_bytes=_rules.max_bytes)
        kind = await sniffer.verdict()
        if kind is None:
            raise _not_allowed(field)
    except storage.TooLarge:
        await _discard(key)
        limit = _describe_size(_rules.max_bytes)
        raise reject(ErrorCode.FILE_TOO_LARGE, f"Files can be at most {limit}.", field) from None
    except BaseException:
        await _discard(key)
        raise
    if kind is TEXT:
        kind = text_type_for(extension_of(upload.filename or ""))
    filename = safe_filename(upload.filename, kind)
    return StagedFile(key, filename, kind, size, digest.hexdigest())


async def _read_head(upload: IncomingFile) -> bytes:
    head = b""
    while len(head) < HEAD_BYTES and (chunk := await upload.read(HEAD_BYTES - len(head))):
        head += chunk
    return head


async def keep_staged(
    principal: StaffPrincipal | ContactPrincipal,
    customer: Customer,
    staged: StagedFile,
    *,
    description: str = "",
    comment_id: int | None = None,
    visible_to_customer: bool = True,
) -> SharedFile:
    """Inside the unit of work of the change the file belongs to (a share, a comment)."""
    kind, staff_id, contact_id, name = activity.actor_of(principal)
    row = await SharedFile.create(
        organization_id=customer.organization_id,
        customer_id=customer.id,
        comment_id=comment_id,
        visible_to_customer=visible_to_customer,
        storage_key=staged.key,
        filename=staged.filename,
        content_type=staged.kind.content_type,
        size_bytes=staged.size,
        sha256=staged.sha256,
        description=description,
        uploaded_by_kind=kind,
        uploaded_by_staff_id=staff_id,
        uploaded_by_contact_id=contact_id,
        uploader_name=name[:200],
    )
    await StoredObjectOrphan.filter(storage_key=staged.key).delete()
    return row


async def _discard(key: str) -> None:
    """Bytes first, record second: if either fails, the record is still there for housekeeping."""
    try:
        await storage.current().delete(key)
        await StoredObjectOrphan.filter(storage_key=key).delete()
    except Exception:
        logger.exception("Could not remove stored file %s; housekeeping will retry", key)


def _shared_kind(principal: StaffPrincipal | ContactPrincipal) -> ActivityKind:
    if isinstance(principal, ContactPrincipal):
        return ActivityKind.DOCUMENT_UPLOADED
    return ActivityKind.DOCUMENT_SHARED


def _record(principal: Principal, row: SharedFile, kind: ActivityKind) -> None:
    activity.record(
        kind,
        actor=principal,
        organization_id=row.organization_id,
        customer_id=row.customer_id,
        # Activity keeps a short label where documents keep their number.
        document=(ActivitySubject.SHARED_FILE, row.id, row.filename[:40]),
        data={"filename": row.filename},
        visible_to_customer=row.visible_to_customer,
    )


def _not_allowed(field: Sequence[str]) -> Exception:
    return reject(
        ErrorCode.FILE_TYPE_NOT_ALLOWED,
        "Upload a PDF, an image (PNG, JPEG, GIF, WebP), a text or CSV file, or a Word, Excel "
        "or PowerPoint document without macros.",
        field,
    )


def _describe_size(size: int) -> str:
    for unit, factor in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= factor and size % factor == 0:
            return f"{size // factor} {unit}"
    return f"{size} bytes"
