from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.file_uploads import Upload
from strawberry.relay import to_base64
from tortoise.expressions import Q

from auth.errors import BadUserInput
from models.activity import ActorKind as ActorKindValue
from models.files import SharedFile as SharedFileRow
from resolvers import files, links
from schema.activity import ActivityActor
from schema.context import Info
from schema.customers import Customer
from schema.edge import LONG_TEXT_LENGTH, SEARCH_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.permissions import IsAuthenticated, IsPerson
from schema.relay import Connection, ModelNode, OrderDirection, connection, decode_id


@strawberry.type(
    description="A file in a customer's shared documents: shared by staff or uploaded by one "
    "of the customer's portal contacts."
)
class SharedFile(ModelNode):
    model = SharedFileRow

    id: strawberry.relay.NodeID[int]
    filename: str = strawberry.field(
        description="A safe name: no path, no control characters, and an extension that "
        "matches the content."
    )
    content_type: str = strawberry.field(
        description="The type found in the file's content when it was uploaded, whatever the "
        "uploader claimed."
    )
    size: int = strawberry.field(description="In bytes.")
    sha256: str = strawberry.field(description="SHA-256 of the content, in hex.")
    description: str
    uploaded_by: ActivityActor
    created_at: datetime
    _row: strawberry.Private[SharedFileRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(
        description="GET it with the same authentication as /graphql. The file comes as an "
        "attachment, with its content type and name."
    )
    def download_url(self) -> str:
        global_id = to_base64(type(self).__name__, self._row.id)
        return links.current().public_base_url + files.download_path(global_id)

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        nodes = await super().resolve_nodes(info=info, node_ids=node_ids, required=required)
        rows = [node._row if isinstance(node, SharedFile) else None for node in nodes]
        visible = await files.hide_unseen_attachments(info.context.principal, rows)
        return [node if row is not None else None for node, row in zip(nodes, visible, strict=True)]

    @classmethod
    def from_row(cls, row: SharedFileRow) -> SharedFile:
        return cls(
            id=row.id,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size_bytes,
            sha256=row.sha256,
            description=row.description,
            uploaded_by=ActivityActor(
                kind=row.uploaded_by_kind,
                name=row.uploader_name,
                _staff_user_id=row.uploaded_by_staff_id,
                _contact_id=row.uploaded_by_contact_id,
            ),
            created_at=row.created_at,
            _row=row,
        )


@strawberry.enum(description="Who put a file in the shared documents.")
class Uploader(Enum):
    STAFF = ActorKindValue.STAFF.value
    CONTACT = ActorKindValue.CONTACT.value


@strawberry.input
class SharedFileFilter:
    customer_id: strawberry.ID | None = None
    uploaded_by: Uploader | None = None
    search: str | None = limited(
        SEARCH_LENGTH, default=None, description="Part of the file name or description."
    )


@strawberry.enum
class SharedFileOrderField(Enum):
    CREATED_AT = "created_at"
    FILENAME = "filename"
    SIZE = "size_bytes"


@strawberry.input
class SharedFileOrder:
    field: SharedFileOrderField = SharedFileOrderField.CREATED_AT
    direction: OrderDirection = OrderDirection.DESC


async def shared_files(
    info: Info,
    *,
    first: int | None,
    after: str | None,
    filter: SharedFileFilter | None,
    order_by: SharedFileOrder | None,
    customer_id: int | None = None,
) -> Connection[SharedFile]:
    """Files of the shared documents area (comment attachments belong to their comments)."""
    where = Q(comment_id=None)
    if customer_id is not None:
        where &= Q(customer_id=customer_id)
    if filter and filter.customer_id:
        where &= Q(customer_id=decode_id(filter.customer_id, Customer))
    if filter and filter.uploaded_by:
        where &= Q(uploaded_by_kind=filter.uploaded_by.value)
    if filter and filter.search and (term := filter.search.strip()):
        where &= Q(filename__icontains=term) | Q(description__icontains=term)
    return await connection(
        info,
        SharedFile,
        where=where,
        order_by=order_by or SharedFileOrder(),
        first=first,
        after=after,
    )


@strawberry.type
class FileQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The shared documents, newest first. Portal contacts see their own "
        "customer's, also while the portal does not accept uploads; partner keys need "
        "documents:read.",
    )
    async def shared_files(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: SharedFileFilter | None = None,
        order_by: SharedFileOrder | None = None,
    ) -> Connection[SharedFile]:
        return await shared_files(info, first=first, after=after, filter=filter, order_by=order_by)


def require_file_parts(values: Iterable[object], field: str) -> None:
    """A variable the multipart map did not fill with a file is the client's mistake."""
    if not all(callable(getattr(value, "read", None)) for value in values):
        raise BadUserInput(f"Send `{field}` as file parts of a multipart request.")


@strawberry.input
class UploadSharedFileInput:
    customer_id: strawberry.ID | None = strawberry.field(
        default=None,
        description="Staff: the customer to share the file with. Portal contacts upload to "
        "their own customer and can leave it out.",
    )
    file: Upload = strawberry.field(
        description="A multipart request's file (GraphQL multipart request spec)."
    )
    description: str = limited(LONG_TEXT_LENGTH, default="")


@strawberry.type
class UploadSharedFilePayload:
    shared_file: SharedFile | None = None
    errors: list[UserError]


@strawberry.input
class DeleteSharedFileInput:
    id: strawberry.ID


@strawberry.type
class DeleteSharedFilePayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class FileMutations:
    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Staff share a file with a customer; a portal contact uploads one to its "
        "customer while the portal accepts uploads (UPLOADS_OFF otherwise). Send it as a "
        "multipart request. The content decides the type: PDF, PNG, JPEG, GIF, WebP, UTF-8 "
        "text or CSV, Word, Excel or PowerPoint without macros (FILE_TYPE_NOT_ALLOWED "
        "otherwise); FILE_TOO_LARGE over the size limit.",
    )
    async def upload_shared_file(
        self, info: Info, input: UploadSharedFileInput
    ) -> UploadSharedFilePayload:
        require_file_parts([input.file], "file")

        async def action() -> dict:
            customer_id = decode_id(input.customer_id, Customer) if input.customer_id else None
            row = await files.store_upload(
                info.context.principal,  # type: ignore[arg-type]
                customer_id,
                input.file,
                description=input.description,
            )
            return {"shared_file": SharedFile.from_row(row)}

        return await payload_or_errors(UploadSharedFilePayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Removes a file from the shared documents. Staff remove any; a portal "
        "contact only files it uploaded (NOT_YOUR_UPLOAD), while the portal accepts uploads.",
    )
    async def delete_shared_file(
        self, info: Info, input: DeleteSharedFileInput
    ) -> DeleteSharedFilePayload:
        async def action() -> dict:
            file_id = decode_id(input.id, SharedFile)
            deleted = await files.delete_shared_file(info.context.principal, file_id)  # type: ignore[arg-type]
            return {"deleted_id": strawberry.ID(to_base64("SharedFile", deleted))}

        return await payload_or_errors(DeleteSharedFilePayload, action)
