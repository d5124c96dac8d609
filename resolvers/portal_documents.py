"""What portal contacts do with their documents: open them, answer quotes."""

from __future__ import annotations

from datetime import UTC, datetime

from auth.principals import ContactPrincipal, Principal
from auth.scoping import scoped
from models.activity import ActivityKind
from models.documents import DocumentKind, DocumentStatus, SalesDocument
from resolvers import activity, calendars, comments, transactions
from resolvers.due_dates import is_expired
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

# Kinds whose first view by the customer staff want to know about.
TRACKED_VIEWS = frozenset({DocumentKind.INVOICE, DocumentKind.QUOTE, DocumentKind.SALES_ORDER})


async def open_document(principal: Principal, document: SalesDocument) -> SalesDocument:
    """Records the customer's first look at a document, once however many open it at once."""
    if not isinstance(principal, ContactPrincipal) or document.kind not in TRACKED_VIEWS:
        return document
    if document.first_viewed_at is not None:
        return document
    now = datetime.now(UTC)
    async with transactions.unit_of_work():
        claimed = await SalesDocument.filter(id=document.id, first_viewed_at=None).update(
            first_viewed_at=now, first_viewed_by_id=principal.contact.id
        )
        if claimed:
            activity.record(
                ActivityKind.DOCUMENT_VIEWED,
                actor=principal,
                organization_id=document.organization_id,
                customer_id=document.customer_id,
                document=(document.kind.value, document.id, document.number),
            )
    if claimed:
        document.first_viewed_at, document.first_viewed_by_id = now, principal.contact.id
    return document


async def answer_quote(
    principal: ContactPrincipal, quote_id: int, *, accept: bool, comment: str
) -> SalesDocument:
    checker = Checker()
    comment = checker.text(comment, ["comment"], max_length=2000)
    checker.raise_if_any()
    async with transactions.unit_of_work():
        quote = await (
            scoped(SalesDocument, principal)
            .select_for_update()
            .get_or_none(id=quote_id, kind=DocumentKind.QUOTE)
        )
        if quote is None:
            raise reject(ErrorCode.NOT_FOUND, "Quote not found.", ["id"])
        if quote.status != DocumentStatus.SENT:
            raise reject(ErrorCode.ALREADY_ANSWERED, "This quote has been answered already.")
        if is_expired(quote, await calendars.today(quote.organization_id)):
            raise reject(ErrorCode.INVALID_TRANSITION, "This quote has expired.")
        quote.status = DocumentStatus.ACCEPTED if accept else DocumentStatus.DECLINED
        quote.version += 1
        await quote.save(update_fields=["status", "version", "updated_at"])
        said = {}
        if comment:  # in the quote's thread, and told with the answer rather than apart
            row = await comments.written(principal, quote, comment)
            said = {"comment_id": row.id, "excerpt": comments.excerpt(comment)}
        activity.record(
            ActivityKind.QUOTE_ACCEPTED if accept else ActivityKind.QUOTE_DECLINED,
            actor=principal,
            organization_id=quote.organization_id,
            customer_id=quote.customer_id,
            document=(quote.kind.value, quote.id, quote.number),
            data=said,
        )
    return quote
