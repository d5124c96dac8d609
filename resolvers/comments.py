"""Comments on sales documents: one thread per document between the business and its customer.

Internal comments are between staff only. A staff comment the customer can see emails the
customer's portal contacts while the organization wants that; a contact's comment reaches staff
through activity, like everything portal users do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from auth import rate_limit
from auth.errors import Forbidden
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.scoping import scoped
from models.activity import Activity, ActivityKind, ActorKind
from models.comments import Comment
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import SalesDocument
from models.files import SharedFile
from models.organizations import Organization
from resolvers import activity, files, links, transactions
from resolvers.document_visibility import require_visible, shown_in_portal, visible_comments
from resolvers.email import enqueue_email
from resolvers.errors import ErrorCode, reject
from resolvers.preferences import preferences_for
from resolvers.validation import Checker

BODY_LIMIT = 5000
MAX_ATTACHMENTS = 5
EXCERPT_LIMIT = 120
COMMENTS_PER_CONTACT = rate_limit.Limit("comments", max_failures=60, window=rate_limit.HOUR)
TEMPLATE = "comment_notification"

Author = StaffPrincipal | ContactPrincipal


@dataclass(frozen=True)
class NewComment:
    document_id: int
    body: str
    internal: bool = False
    attachments: Sequence[files.IncomingFile] = field(default_factory=tuple)


async def add_comment(principal: Author, new: NewComment) -> Comment:
    """Attachments are kept in the shared file storage, as visible as the comment: an internal
    comment's files are the staff's own."""
    if new.internal and isinstance(principal, ContactPrincipal):
        raise Forbidden("Only staff can post internal comments.")
    checker = Checker()
    body = checker.text(new.body, ["body"], max_length=BODY_LIMIT, required=True)
    if len(new.attachments) > MAX_ATTACHMENTS:
        checker.add(ErrorCode.INVALID, f"Attach at most {MAX_ATTACHMENTS} files.", ["attachments"])
    checker.raise_if_any()
    document = await _commentable(principal, new.document_id)
    if new.attachments:
        await files.require_uploads(principal)
    if isinstance(principal, ContactPrincipal):
        counted = (COMMENTS_PER_CONTACT, f"contact:{principal.contact.id}")
        if await rate_limit.reserve(counted) is None:
            raise reject(ErrorCode.RATE_LIMITED, "Too many comments. Try again later.")
    uploads = [(file, ["attachments", str(index)]) for index, file in enumerate(new.attachments)]
    async with files.staged_uploads(uploads) as staged, transactions.unit_of_work():
        comment = await _save(principal, document, body, new.internal, staged)
    return comment


async def _save(
    principal: Author,
    document: SalesDocument,
    body: str,
    internal: bool,
    staged: list[files.StagedFile],
) -> Comment:
    comment = await written(principal, document, body, internal=internal)
    if staged:
        customer = await Customer.get(id=document.customer_id)
        for file in staged:
            await files.keep_staged(
                principal, customer, file, comment_id=comment.id, visible_to_customer=not internal
            )
    customer_sees = not internal and await shown_in_portal(document)
    activity.record(
        ActivityKind.COMMENT_ADDED,
        actor=principal,
        organization_id=document.organization_id,
        customer_id=document.customer_id,
        document=(document.kind.value, document.id, document.number),
        data={
            "comment_id": comment.id,
            "excerpt": excerpt(body),
            "attachments": [file.filename for file in staged],
        },
        visible_to_customer=customer_sees,
    )
    if customer_sees and isinstance(principal, StaffPrincipal):
        await _email_customer(comment, document)
    return comment


async def written(
    principal: Author, document: SalesDocument, body: str, *, internal: bool = False
) -> Comment:
    """The comment in the document's thread; who hears of it is the caller's to record."""
    return await Comment.create(
        organization_id=document.organization_id,
        customer_id=document.customer_id,
        document=document,
        internal=internal,
        body=body,
        **_author(principal),
    )


async def delete_comment(principal: Author, comment_id: int) -> None:
    """Staff delete any comment they see, a portal contact only its own."""
    async with transactions.unit_of_work():
        found = await _visible(principal, comment_id)
        if found is None:
            raise reject(ErrorCode.NOT_FOUND, "No such comment.", ["id"])
        comment, document = found
        if isinstance(principal, ContactPrincipal) and (
            comment.author_contact_id != principal.contact.id
        ):
            raise Forbidden("You can delete only your own comments.")
        attached = await SharedFile.filter(comment_id=comment.id).values_list(
            "storage_key", flat=True
        )
        # Conditional, so of two concurrent deletes only one is recorded.
        if not await Comment.filter(id=comment.id).delete():
            raise reject(ErrorCode.NOT_FOUND, "No such comment.", ["id"])
        await files.release_stored(list(attached))
        await _forget_excerpt(comment)
        activity.record(
            ActivityKind.COMMENT_DELETED,
            actor=principal,
            organization_id=document.organization_id,
            customer_id=document.customer_id,
            document=(document.kind.value, document.id, document.number),
            data={"comment_id": comment.id},
            visible_to_customer=False,
        )


def excerpt(body: str) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= EXCERPT_LIMIT else flat[: EXCERPT_LIMIT - 1].rstrip() + "…"


async def _commentable(principal: Author, document_id: int) -> SalesDocument:
    document = await scoped(SalesDocument, principal).get_or_none(id=document_id)
    if document is None:
        raise reject(ErrorCode.NOT_FOUND, "No such document.", ["documentId"])
    await require_visible(principal, [document.kind])
    return document


async def _visible(principal: Author, comment_id: int) -> tuple[Comment, SalesDocument] | None:
    """The comment and its document, where the caller sees the comment (the rule of `node`)."""
    comment = await (await visible_comments(principal)).get_or_none(id=comment_id)
    if comment is None:
        return None
    return comment, await SalesDocument.get(id=comment.document_id)


def _author(principal: Author) -> dict:
    if isinstance(principal, StaffPrincipal):
        return {
            "author_kind": ActorKind.STAFF,
            "author_staff_id": principal.user.id,
            "author_name": principal.user.name,
        }
    return {
        "author_kind": ActorKind.CONTACT,
        "author_contact_id": principal.contact.id,
        "author_name": principal.contact.display_name,
    }


async def _forget_excerpt(comment: Comment) -> None:
    """A deleted comment's words leave the feed too, where the customer may have seen them."""
    added = await Activity.filter(
        customer_id=comment.customer_id,
        kind=ActivityKind.COMMENT_ADDED,
        document_id=comment.document_id,
    )
    for row in added:
        if row.data.get("comment_id") == comment.id:
            row.data = {**row.data, "excerpt": ""}
            await row.save(update_fields=["data"])


async def _email_customer(comment: Comment, document: SalesDocument) -> None:
    if not (await preferences_for(document.organization_id)).email_customers_on_staff_comments:
        return
    recipients = await ContactPerson.filter(
        customer_id=document.customer_id, portal_access=PortalAccess.ACTIVE
    ).exclude(email="")
    if not recipients:
        return
    organization = await Organization.get(id=document.organization_id)
    customer = await Customer.get(id=document.customer_id)
    context = {
        "organization_name": organization.name,
        "author_name": comment.author_name,
        "kind": document.kind.value,
        "number": document.number,
        "body": comment.body,
        "link": links.current().portal(organization.portal_name),
    }
    for contact in recipients:
        await enqueue_email(
            to=contact.email,
            template=TEMPLATE,
            context={**context, "contact_name": contact.display_name},
            language=customer.portal_language,
            organization_id=organization.id,
        )
