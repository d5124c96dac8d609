"""A portal contact forwards an invoice, quote or sales order to someone else by email, with
the PDF attached; that person becomes a contact person of the customer (without portal access),
so the business knows who else sees its documents."""

from __future__ import annotations

from auth import rate_limit
from auth.principals import ContactPrincipal
from auth.scoping import scoped
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import DocumentKind, SalesDocument
from models.organizations import Organization
from resolvers import activity, links, portal_features, transactions
from resolvers.document_visibility import require_visible
from resolvers.email import enqueue_email
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

FORWARDABLE = (DocumentKind.INVOICE, DocumentKind.QUOTE, DocumentKind.SALES_ORDER)
FORWARDS_PER_CONTACT = rate_limit.Limit("forwards", max_failures=20, window=rate_limit.HOUR)
TEMPLATE = "document_forward"


async def forward_document(
    principal: ContactPrincipal, document_id: int, to: str, message: str
) -> str:
    """Returns the address the document went to."""
    checker = Checker()
    to = checker.email(to, ["to"], required=True)
    message = checker.text(message, ["message"], max_length=2000)
    checker.raise_if_any()
    await portal_features.require(portal_features.FORWARDING, principal.organization_id)
    document = await scoped(SalesDocument, principal).get_or_none(id=document_id)
    if document is None or document.kind not in FORWARDABLE:
        raise reject(ErrorCode.NOT_FOUND, "No such invoice, quote or sales order.", ["id"])
    await require_visible(principal, [document.kind])
    if await rate_limit.reserve((FORWARDS_PER_CONTACT, f"contact:{principal.contact.id}")) is None:
        raise reject(ErrorCode.RATE_LIMITED, "Too many forwards. Try again later.")
    async with transactions.unit_of_work():
        await _email(principal.contact, document, to, message)
        await _add_contact(document.customer_id, principal.organization_id, to)
        activity.record(
            ActivityKind.DOCUMENT_FORWARDED,
            actor=principal,
            organization_id=principal.organization_id,
            customer_id=document.customer_id,
            document=(document.kind.value, document.id, document.number),
            data={"to": to},
        )
    return to


async def _email(sender: ContactPerson, document: SalesDocument, to: str, message: str) -> None:
    organization = await Organization.get(id=document.organization_id)
    customer = await Customer.get(id=document.customer_id)
    await enqueue_email(
        to=to,
        template=TEMPLATE,
        context={
            "sender_name": sender.display_name,
            "customer_name": customer.display_name,
            "organization_name": organization.name,
            "kind": document.kind.value,
            "number": document.number,
            "total_minor": document.total_minor,
            "balance_minor": document.balance_minor,
            "currency": document.currency,
            "due_date": document.due_date,
            "message": message,
            "link": links.current().portal(organization.portal_name),
        },
        language=customer.portal_language,
        organization_id=organization.id,
        reply_to=sender.email,
        attachments=[{"document_id": document.id}],
    )


async def _add_contact(customer_id: int, organization_id: int, email: str) -> None:
    """An address names one contact person in the organization (it may become a login), so a
    recipient who is already someone's contact, of any customer, stays where they are."""
    known = await ContactPerson.filter(
        organization_id=organization_id, email__iexact=email
    ).exists()
    if not known:
        await ContactPerson.create(
            organization_id=organization_id,
            customer_id=customer_id,
            email=email,
            portal_access=PortalAccess.NOT_INVITED,
        )
