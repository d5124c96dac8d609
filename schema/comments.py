"""Comments: the thread of a sales document, and adding and deleting comments."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum

import strawberry
from strawberry.file_uploads import Upload

from auth.principals import ContactPrincipal, StaffPrincipal
from models.comments import Comment as CommentRow
from models.documents import SalesDocument as SalesDocumentRow
from models.files import SharedFile as SharedFileRow
from resolvers import comments, document_visibility
from resolvers.pagination import Ordering, page_of_rows
from schema.context import Info
from schema.customers import ContactPerson
from schema.documents import SalesDocumentNode, document_id
from schema.edge import LONG_TEXT_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.files import SharedFile, require_file_parts
from schema.permissions import STAFF_ONLY, IsPerson, IsStaff, IsStaffOrPartner
from schema.relay import Connection, ModelNode, decode_id
from schema.staff import StaffUser

OLDEST_FIRST = Ordering("created_at")


@strawberry.enum(description="Who wrote a comment: STAFF of the business or a portal CONTACT.")
class CommentAuthorKind(Enum):
    STAFF = "STAFF"
    CONTACT = "CONTACT"


@strawberry.type(description="A message in the thread of a sales document.")
class Comment(ModelNode):
    model = CommentRow

    id: strawberry.relay.NodeID[int]
    body: str
    author_kind: CommentAuthorKind
    author_name: str = strawberry.field(description="As it was when the comment was written.")
    created_at: datetime
    _row: strawberry.Private[CommentRow]

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description=f"Whether the comment is between staff only. {STAFF_ONLY}",
    )
    def internal(self) -> bool:
        return self._row.internal

    @strawberry.field(description="The contact person who wrote it; null for staff.")
    async def author_contact(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._row.author_contact_id)

    @strawberry.field(
        permission_classes=[IsStaff], description="The staff user who wrote it. Staff users only."
    )
    async def author_staff(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._row.author_staff_id)

    @strawberry.field(
        description="Files attached to the comment; download them by their downloadUrl."
    )
    async def attachments(self, info: Info) -> list[SharedFile]:
        loader = info.context.loaders.children(SharedFileRow, "comment_id", "id")
        return [SharedFile.from_row(row) for row in await loader.load(self.id)]

    @strawberry.field
    async def document(self, info: Info) -> SalesDocumentNode | None:
        return await SalesDocumentNode.load(info, self._row.document_id)

    @strawberry.field(
        description="Whether deleteComment would delete it: staff any, a contact its own."
    )
    def viewer_can_delete(self, info: Info) -> bool:
        match info.context.principal:
            case StaffPrincipal():
                return True
            case ContactPrincipal(contact=contact):
                return self._row.author_contact_id == contact.id
        return False

    @classmethod
    def from_row(cls, row: CommentRow) -> Comment:
        return cls(
            id=row.id,
            body=row.body,
            author_kind=CommentAuthorKind(row.author_kind.value),
            author_name=row.author_name,
            created_at=row.created_at,
            _row=row,
        )

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        nodes = await super().resolve_nodes(info=info, node_ids=node_ids, required=required)
        shown = [node.id for node in nodes if isinstance(node, Comment)]
        principal = info.context.principal
        if not shown or not await document_visibility.hidden_kinds(principal):
            return nodes
        # A comment on a kind of document the portal hides is as invisible as that document.
        visible = await document_visibility.visible_comments(principal)
        seen = set(await visible.filter(id__in=shown).values_list("id", flat=True))
        return [node if isinstance(node, Comment) and node.id in seen else None for node in nodes]


async def thread_of(
    info: Info, document: SalesDocumentRow, first: int | None, after: str | None
) -> Connection[Comment]:
    """The comments of a document, for every document of a page in one query."""
    loader = info.context.loaders.children(CommentRow, "document_id", OLDEST_FIRST.field)
    rows = await loader.load(document.id)
    page = page_of_rows(CommentRow, rows, OLDEST_FIRST, first=first, after=after)
    return Connection.of(page, Comment.from_row)


@strawberry.input
class AddCommentInput:
    document_id: strawberry.ID = strawberry.field(
        description="An invoice, retainer invoice, quote, sales order or credit note."
    )
    body: str = limited(LONG_TEXT_LENGTH, description=f"At most {comments.BODY_LIMIT} characters.")
    internal: bool = strawberry.field(
        default=False,
        description="Staff only: a note between staff that the customer never sees or hears of.",
    )
    attachments: list[Upload] = strawberry.field(
        default_factory=list,
        description=f"At most {comments.MAX_ATTACHMENTS} files, as file parts of a multipart "
        "request, checked like shared files. Portal contacts attach files while the portal "
        "accepts uploads (UPLOADS_OFF otherwise).",
    )


@strawberry.type
class AddCommentPayload:
    comment: Comment | None = None
    errors: list[UserError]


@strawberry.input
class DeleteCommentInput:
    id: strawberry.ID


@strawberry.type
class DeleteCommentPayload:
    deleted_id: strawberry.ID | None = None
    errors: list[UserError]


@strawberry.type
class CommentMutations:
    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Adds a comment to a document's thread. Staff comment on any document; a "
        "portal contact on the documents it sees, at most 60 an hour, never internal. Staff "
        "hear of a contact's comment as activity; a staff comment the customer sees emails "
        "its portal contacts while the preference emailCustomersOnStaffComments is on.",
    )
    async def add_comment(self, info: Info, input: AddCommentInput) -> AddCommentPayload:
        require_file_parts(input.attachments, "attachments")

        async def action() -> dict:
            new = comments.NewComment(
                document_id=document_id(input.document_id),
                body=input.body,
                internal=input.internal,
                attachments=input.attachments,
            )
            row = await comments.add_comment(info.context.principal, new)  # type: ignore[arg-type]
            return {"comment": Comment.from_row(row)}

        return await payload_or_errors(AddCommentPayload, action)

    @strawberry.mutation(
        permission_classes=[IsPerson],
        description="Deletes a comment: staff any, a portal contact only its own.",
    )
    async def delete_comment(self, info: Info, input: DeleteCommentInput) -> DeleteCommentPayload:
        async def action() -> dict:
            comment_id = decode_id(input.id, Comment)
            await comments.delete_comment(info.context.principal, comment_id)  # type: ignore[arg-type]
            return {"deleted_id": input.id}

        return await payload_or_errors(DeleteCommentPayload, action)
