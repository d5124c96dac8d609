"""Documents shared by public link: whoever holds the link sees the document and can pay it.

With the organization's preference `verify_identity_for_public_links`, the details and the PDF
wait until the visitor proves control of the customer's email address or mobile number with a
one-time code; the amount due and paying stay open without it, as the reference describes.

Every refusal of a link looks the same (`LINK_INVALID`), whatever the reason, so the answer
tells nothing about which links exist; the reason goes to the server log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from tortoise.expressions import F

from auth import rate_limit
from auth.errors import CodedError
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.scoping import scoped
from auth.tokens import hash_token, new_token
from integrations import sms
from models.customers import ContactPerson, Customer
from models.documents import DocumentStatus, LineItem, SalesDocument
from models.organizations import Organization
from models.payments import Payment, PaymentStatus
from models.sharing import (
    CodeChannel,
    LinkAction,
    PublicLink,
    PublicLinkAccess,
    VerificationCode,
    VerifiedVisit,
)
from resolvers import calendars, links, online_payments, transactions
from resolvers.authentication import Client
from resolvers.balances import OPEN_FOR_PAYMENT
from resolvers.documents import PAYABLE
from resolvers.email import enqueue_email
from resolvers.errors import ErrorCode, Rejected, UserError, reject
from resolvers.payments import Allocation
from resolvers.preferences import preferences_for

logger = logging.getLogger("portico.public_links")

LINK_PREFIX = "pl"
VISIT_PREFIX = "plv"
DEFAULT_DAYS, MAX_DAYS = 30, 365
NOT_SHAREABLE = frozenset({DocumentStatus.DRAFT, DocumentStatus.VOID})
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
VISIT_LIFETIME = timedelta(minutes=30)
CODE_TEMPLATE = "public_link_code"

# Whoever holds a link can make it send codes: limited per link, so the customer's inbox and
# phone are not flooded, and per client address. With 5 tries per code and at most 10 codes a
# day, guessing a 6-digit code succeeds with odds of 1 in 20,000 a day, while the customer
# gets every code an attacker asks for.
CODES_PER_LINK = rate_limit.Limit("link-code", max_failures=3, window=timedelta(minutes=15))
CODES_PER_LINK_DAY = rate_limit.Limit("link-code-day", max_failures=10, window=timedelta(days=1))
CODES_PER_ADDRESS = rate_limit.Limit("link-code-address", max_failures=10, window=rate_limit.HOUR)
# Declined cards: an open payment form is where stolen card numbers get tested.
DECLINES_PER_LINK = rate_limit.Limit("link-declines", max_failures=5, window=rate_limit.HOUR)
DECLINES_PER_ADDRESS = rate_limit.Limit("link-declines-address", 10, window=rate_limit.HOUR)


class LinkInvalid(CodedError):
    code = "LINK_INVALID"
    default_message = "This link is not valid. Ask the sender for a new one."


class VerificationRequired(Exception):
    """The document's details and PDF wait for a verified visit."""


@dataclass(frozen=True)
class Destination:
    channel: CodeChannel
    masked: str


@dataclass(frozen=True)
class Details:
    customer_name: str
    lines: list[LineItem]
    pdf_url: str


@dataclass(frozen=True)
class LinkView:
    """What a visitor sees. `details` is None while identity verification is pending."""

    organization_name: str
    document: SalesDocument
    payable: bool
    verification_required: bool
    destinations: list[Destination]
    details: Details | None


# Staff


async def share_document(
    principal: StaffPrincipal, document_id: int, expires_in_days: int = DEFAULT_DAYS
) -> tuple[PublicLink, str]:
    """A new link to the document; the secret is returned now and never again."""
    if not 1 <= expires_in_days <= MAX_DAYS:
        raise reject(ErrorCode.INVALID, f"Choose 1 to {MAX_DAYS} days.", ["expiresInDays"])
    document = await _staff_document(principal, document_id)
    if document.status in NOT_SHAREABLE:
        raise reject(
            ErrorCode.INVALID_TRANSITION,
            "Send the document before sharing it." if document.status == DocumentStatus.DRAFT
            else "A void document cannot be shared.",
            ["documentId"],
        )  # fmt: skip
    secret, token_hash = new_token(LINK_PREFIX)
    link = await PublicLink.create(
        organization_id=principal.organization_id,
        document_id=document.id,
        token_hash=token_hash,
        created_by_id=principal.user.id,
        expires_at=datetime.now(UTC) + timedelta(days=expires_in_days),
    )
    return link, secret


async def revoke_link(principal: StaffPrincipal, link_id: int) -> PublicLink:
    link = await scoped(PublicLink, principal).get_or_none(id=link_id)
    if link is None:
        raise reject(ErrorCode.NOT_FOUND, "Public link not found.", ["id"])
    if link.revoked_at is None:
        link.revoked_at = datetime.now(UTC)
        await link.save(update_fields=["revoked_at"])
    return link


async def revoke_all_links(principal: StaffPrincipal, document_id: int) -> int:
    document = await _staff_document(principal, document_id)
    now = datetime.now(UTC)
    active = scoped(PublicLink, principal).filter(
        document_id=document.id, revoked_at=None, expires_at__gt=now
    )
    return await active.update(revoked_at=now)


def share_url(organization: Organization, secret: str) -> str:
    # In the fragment, like the portal's other emailed links: it never reaches a server log.
    return links.current().portal_action(organization.portal_name, "share", secret)


async def _staff_document(principal: StaffPrincipal, document_id: int) -> SalesDocument:
    document = await scoped(SalesDocument, principal).get_or_none(id=document_id)
    if document is None:
        raise reject(ErrorCode.NOT_FOUND, "Document not found.", ["documentId"])
    return document


# Visitors


async def open_link(secret: str, client: Client, visit: str | None = None) -> LinkView:
    link = await _usable(secret)
    organization = await Organization.get(id=link.organization_id)
    calendars.remember(organization)  # the visitor sees whether the document is overdue
    verifying = await _verification_on(link)
    hidden = verifying and not await _visit_valid(link, visit)
    await _log(link, LinkAction.VIEW, client)
    return LinkView(
        organization_name=organization.name,
        document=link.document,
        payable=_payable(link.document),
        verification_required=hidden,
        destinations=await _masked_destinations(link) if hidden else [],
        details=None if hidden else await _details(link, secret, visit if verifying else None),
    )


async def _details(link: PublicLink, secret: str, visit: str | None) -> Details:
    document: SalesDocument = link.document
    customer = await Customer.get(id=document.customer_id)
    lines = await LineItem.filter(document_id=document.id).order_by("position", "id")
    return Details(customer.display_name, lines, _pdf_url(secret, visit))


async def open_pdf(secret: str, visit: str | None, client: Client) -> SalesDocument:
    """The document to render for `GET /public/{secret}/pdf`; raises LinkInvalid or
    VerificationRequired."""
    link = await _usable(secret)
    if await _verification_on(link) and not await _visit_valid(link, visit):
        raise VerificationRequired()
    await _log(link, LinkAction.PDF, client)
    return link.document


async def request_code(secret: str, channel: CodeChannel, client: Client) -> str:
    """Sends a one-time code to the customer's address for `channel`; returns it masked. The
    visitor chooses the channel, never the destination. A new code replaces the previous one."""
    link = await _usable(secret)
    if not await _verification_on(link):
        raise reject(ErrorCode.INVALID, "This link needs no verification.", ["token"])
    destination = (await _destinations(link)).get(channel)
    if destination is None:
        raise reject(
            ErrorCode.INVALID, "There is no address on file for this channel.", ["channel"]
        )
    await _count_code_request(link, client)
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    async with transactions.unit_of_work():
        await VerificationCode.filter(link_id=link.id).delete()
        await VerificationCode.create(
            link_id=link.id,
            channel=channel,
            destination=destination,
            code_hash=_code_digest(secret, code),
            expires_at=datetime.now(UTC) + CODE_LIFETIME,
        )
        await _deliver_code(link, channel, destination, code)
        await _log(link, LinkAction.CODE_SENT, client)
    return _mask(channel, destination)


async def verify_code(secret: str, code: str, client: Client) -> str:
    """A correct code opens a verified visit (30 minutes); returns the visit's secret, once."""
    link = await _usable(secret)
    if not await _verification_on(link):
        raise reject(ErrorCode.INVALID, "This link needs no verification.", ["token"])
    problem = await _use_code(link, secret, code)
    if problem is not None:
        await _log(link, LinkAction.CODE_REFUSED, client)
        raise Rejected([problem])
    visit, visit_hash = new_token(VISIT_PREFIX)
    async with transactions.unit_of_work():
        await VerifiedVisit.create(
            link_id=link.id, token_hash=visit_hash, expires_at=datetime.now(UTC) + VISIT_LIFETIME
        )
        await _log(link, LinkAction.VERIFIED, client)
    return visit


async def pay_by_link(
    secret: str, idempotency_key: str, amount: Decimal, token: str, client: Client
) -> Payment:
    """Pays the link's invoice or retainer invoice, and nothing else, through the portal's
    online payment flow. Needs no verification."""
    link = await _usable(secret)
    document: SalesDocument = link.document
    if document.kind not in PAYABLE:
        raise reject(ErrorCode.INVALID, "Only invoices and retainer invoices can be paid.")
    # Counted as declined until the gateway says otherwise, so that concurrent payments cannot
    # try more cards than the limits allow.
    attempt = await rate_limit.reserve(
        (DECLINES_PER_LINK, str(link.id)), (DECLINES_PER_ADDRESS, client.address)
    )
    if attempt is None:
        raise reject(ErrorCode.RATE_LIMITED, "Too many declined payments. Try again later.")
    request = online_payments.PayRequest(
        idempotency_key=idempotency_key,
        allocations=[Allocation(document.id, amount)],
        token=token,
    )
    payer = online_payments.Payer(await _customer_scope(document), link_id=link.id)
    declined = False
    try:
        payment = await online_payments.pay_as(payer, request)
        declined = payment.status == PaymentStatus.FAILED and payment.declined
    except Rejected as refused:
        raise Rejected([_link_field(problem) for problem in refused.errors]) from refused
    finally:
        if not declined:
            await attempt.release()
    await _log(link, LinkAction.PAY, client)
    return payment


# Helpers


async def _usable(secret: str) -> PublicLink:
    """The link with its document, or LinkInvalid: the same answer for every reason."""
    link = None
    if secret.startswith(f"{LINK_PREFIX}_") and len(secret) <= 100:
        link = await PublicLink.get_or_none(token_hash=hash_token(secret)).select_related(
            "document"
        )
    reason = _refusal(link)
    # The link's page is a part of the portal: it exists only while the portal does.
    if reason is None and link is not None and not await _portal_open(link):
        reason = "the portal is turned off"
    if reason is not None:
        logger.info("Refused a public link (%s): %s", link.id if link else "unknown", reason)
        raise LinkInvalid()
    assert link is not None
    return link


def _refusal(link: PublicLink | None) -> str | None:
    if link is None:
        return "no such token"
    if link.revoked_at is not None:
        return "revoked"
    if link.expires_at <= datetime.now(UTC):
        return "expired"
    if link.document.status in NOT_SHAREABLE:
        return f"document is {link.document.status.lower()}"
    return None


async def _portal_open(link: PublicLink) -> bool:
    return (await preferences_for(link.organization_id)).portal_enabled


async def _verification_on(link: PublicLink) -> bool:
    return (await preferences_for(link.organization_id)).verify_identity_for_public_links


async def _visit_valid(link: PublicLink, visit: str | None) -> bool:
    if not visit:
        return False
    return await VerifiedVisit.exists(
        link_id=link.id, token_hash=hash_token(visit), expires_at__gt=datetime.now(UTC)
    )


def _payable(document: SalesDocument) -> bool:
    return (
        document.kind in PAYABLE
        and document.status in OPEN_FOR_PAYMENT
        and document.balance_minor > 0
    )


def _pdf_url(secret: str, visit: str | None) -> str:
    url = f"{links.current().public_base_url}/public/{secret}/pdf"
    return f"{url}?visit={visit}" if visit else url


async def _primary_contact(customer_id: int) -> ContactPerson | None:
    return await ContactPerson.filter(customer_id=customer_id, is_primary=True).first()


async def _destinations(link: PublicLink) -> dict[CodeChannel, str]:
    """Where codes may go: the customer's email (or its primary contact's) and the primary
    contact's mobile number. Only addresses the business keeps, never one a visitor gives."""
    customer = await Customer.get(id=link.document.customer_id)
    primary = await _primary_contact(customer.id)
    found: dict[CodeChannel, str] = {}
    email = customer.email or (primary.email if primary else "")
    if email:
        found[CodeChannel.EMAIL] = email
    if primary and primary.mobile.strip():
        found[CodeChannel.SMS] = primary.mobile.strip()
    return found


async def _masked_destinations(link: PublicLink) -> list[Destination]:
    found = await _destinations(link)
    return [Destination(channel, _mask(channel, to)) for channel, to in found.items()]


def _mask(channel: CodeChannel, destination: str) -> str:
    if channel == CodeChannel.EMAIL:
        local, _, domain = destination.partition("@")
        return f"{local[:1]}•••@{domain}"
    digits = "".join(ch for ch in destination if ch.isdigit())
    return f"•••• {digits[-4:]}"


async def _count_code_request(link: PublicLink, client: Client) -> None:
    subjects = (
        (CODES_PER_LINK, str(link.id)),
        (CODES_PER_LINK_DAY, str(link.id)),
        (CODES_PER_ADDRESS, client.address),
    )
    if await rate_limit.reserve(*subjects) is None:
        raise reject(ErrorCode.RATE_LIMITED, "Too many codes requested. Try again later.")


def _code_digest(secret: str, code: str) -> str:
    # Keyed with the link's secret, which the database does not hold: a copy of the database
    # cannot try the million possible codes offline.
    return hmac.new(
        secret.encode(), f"public-link-code:{code}".encode(), hashlib.sha256
    ).hexdigest()


async def _use_code(link: PublicLink, secret: str, code: str) -> UserError | None:
    """Spends one try of the current code; None when it was right. The try is counted by a
    conditional UPDATE before comparing, so concurrent guesses never get past the limit."""
    now = datetime.now(UTC)
    current = (
        await VerificationCode.filter(link_id=link.id, used_at=None, expires_at__gt=now)
        .order_by("-id")
        .first()
    )
    expired = UserError(
        ErrorCode.TOKEN_EXPIRED, "This code no longer works. Ask for a new one.", ("code",)
    )
    if current is None:
        return expired
    counted = await VerificationCode.filter(
        id=current.id, used_at=None, attempts__lt=MAX_CODE_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        return expired
    candidate = "".join(code.split())
    if not hmac.compare_digest(current.code_hash, _code_digest(secret, candidate)):
        return UserError(ErrorCode.INVALID_CODE, "The code is not right.", ("code",))
    used = await VerificationCode.filter(id=current.id, used_at=None).update(used_at=now)
    return None if used else expired


async def _deliver_code(
    link: PublicLink, channel: CodeChannel, destination: str, code: str
) -> None:
    document: SalesDocument = link.document
    organization = await Organization.get(id=link.organization_id)
    if channel == CodeChannel.SMS:
        text = f"{organization.name}: your code to view {document.number} is {code}."
        # Sent once the code is stored; a lost message is solved by asking again.
        await transactions.after_commit(lambda: sms.current().send(destination, text))
        return
    customer = await Customer.get(id=document.customer_id)
    primary = await _primary_contact(customer.id)
    await enqueue_email(
        to=destination,
        template=CODE_TEMPLATE,
        context={
            "organization_name": organization.name,
            "contact_name": primary.display_name if primary else customer.display_name,
            "number": document.number,
            "code": code,
        },
        language=customer.portal_language,
        organization_id=organization.id,
        reply_to=organization.email,
    )


async def _customer_scope(document: SalesDocument) -> ContactPrincipal:
    """Payments belong to a contact's scope; a link's visitor pays in the primary contact's."""
    primary = await _primary_contact(document.customer_id)
    if primary is None:
        raise reject(
            ErrorCode.NO_PRIMARY_CONTACT, "This document cannot be paid online. Contact the sender."
        )
    return ContactPrincipal(primary)


_LINK_FIELDS = {
    ("allocations", "0", "amount"): ("amount",),
    ("token",): ("paymentToken",),
    ("idempotencyKey",): ("idempotencyKey",),
}


def _link_field(problem: UserError) -> UserError:
    """The payment flow names its own input's fields; say them as `payPublicDocument` does."""
    field = _LINK_FIELDS.get(problem.field or ())
    return UserError(problem.code, problem.message, field)


async def _log(link: PublicLink, action: LinkAction, client: Client) -> None:
    async with transactions.unit_of_work():
        await PublicLinkAccess.create(
            link_id=link.id,
            action=action,
            ip_address=client.address[:64],
            user_agent=client.user_agent[:300],
        )
        if action in (LinkAction.VIEW, LinkAction.PDF, LinkAction.PAY):
            await PublicLink.filter(id=link.id).update(last_used_at=datetime.now(UTC))


async def prune(older_than: timedelta = timedelta(days=1)) -> int:
    """Codes and verified visits long past their end; the access log stays, as an audit trail."""
    cutoff = datetime.now(UTC) - older_than
    codes = await VerificationCode.filter(expires_at__lt=cutoff).delete()
    visits = await VerifiedVisit.filter(expires_at__lt=cutoff).delete()
    return codes + visits
