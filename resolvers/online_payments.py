"""Paying in the portal: a contact pays invoices with a card or bank account through the
organization's gateway.

The attempt is committed first (PROCESSING; its allocations hold the invoices' balance so no
other payment can take it), then the gateway is charged with the payment's own key, then the
outcome is written in a second transaction. A crash in between leaves a PROCESSING payment that
`reconcile` ends by asking the gateway, which charges at most once per key: nothing is lost
and nothing is taken twice. A request repeated with the same idempotency key is answered at
once with the first one's payment as it stands, in progress or not.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from pypika_tortoise import Query, Table
from pypika_tortoise.queries import QueryBuilder
from tortoise import timezone
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from auth.prepared import PreparedQuery, PreparedStatement
from auth.principals import ContactPrincipal, StaffPrincipal
from auth.scoping import scoped
from integrations.gateways.base import Charge, ChargeStatus, GatewayError
from integrations.gateways.registry import adapter as gateway_adapter
from integrations.gateways.registry import gateway as gateway_named
from integrations.gateways.test_gateway import TestGateway
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer
from models.documents import DocumentKind, SalesDocument
from models.money import from_minor
from models.payments import (
    GatewayEvent,
    IdempotencyKey,
    MethodKind,
    Payment,
    PaymentKind,
    PaymentMode,
    PaymentStatus,
    SavedPaymentMethod,
)
from resolvers import (
    activity,
    calendars,
    payment_methods,
    portal_features,
    request_rows,
    transactions,
)
from resolvers.balances import IN_FLIGHT, OPEN_FOR_PAYMENT, lock_documents, reserved, settle
from resolvers.crash_safety import STALE_AFTER, crash_point
from resolvers.errors import ErrorCode, reject
from resolvers.numbering import next_number
from resolvers.payments import (
    MAX_ALLOCATIONS,
    PREFIX,
    SERIES,
    Allocation,
    allocate,
    check_allocations,
    kind_of,
    validated,
)
from resolvers.preferences import preferences_for
from resolvers.receipts import enqueue_receipt

logger = logging.getLogger("portico.payments")

MODE_OF = {MethodKind.CARD: PaymentMode.CARD, MethodKind.BANK_ACCOUNT: PaymentMode.ACH}
ACCEPTS = {MethodKind.CARD: "card", MethodKind.BANK_ACCOUNT: portal_features.BANK_DEBIT}
# Longer than anyone retries a payment request.
KEYS_KEPT = timedelta(hours=48)


@dataclass(frozen=True)
class PayRequest:
    idempotency_key: str
    allocations: list[Allocation]
    payment_method_id: int | None = None
    token: str | None = None
    save_payment_method: bool = False
    # Pay every outstanding invoice instead of `allocations`, in this currency (None: the
    # only one they have). Worked out once the key is claimed, so a repeat finds the first.
    all_outstanding: bool = False
    currency: str | None = None

    def fingerprint(self) -> str:
        body = {
            "allocations": [[a.document_id, str(a.amount.normalize())] for a in self.allocations],
            "method": self.payment_method_id,
            "token": self.token,
            "save": self.save_payment_method,
        }
        if self.all_outstanding:
            body["all_outstanding"] = self.currency or "*"
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class _Method:
    token: str
    kind: MethodKind
    saved_id: int | None


@dataclass(frozen=True)
class Payer:
    """Who pays. A portal contact pays as itself. A public link's visitor pays in the scope of
    the customer's primary contact without being that contact: nobody is recorded as the payer
    (so no receipt goes to a contact), the customer's saved methods stay out of reach, and its
    idempotency keys live apart from the contact's own, one namespace per link."""

    principal: ContactPrincipal
    link_id: int | None = None

    @property
    def paid_by_id(self) -> int | None:
        return self.principal.contact.id if self.link_id is None else None

    def key(self, key: str) -> str:
        if self.link_id is None:
            return key
        return "link:" + hashlib.sha256(f"{self.link_id}:{key}".encode()).hexdigest()


async def pay(principal: ContactPrincipal, request: PayRequest) -> Payment:
    return await pay_as(Payer(principal), request)


async def pay_as(payer: Payer, request: PayRequest) -> Payment:
    principal = payer.principal
    key = payer.key(_checked_key(request.idempotency_key))
    if request.all_outstanding:
        await portal_features.require(portal_features.BULK_PAYMENTS, principal.organization_id)
    else:
        check_allocations(request.allocations)
    saved_methods = request.payment_method_id is not None or request.save_payment_method
    if payer.paid_by_id is None and saved_methods:
        raise reject(ErrorCode.INVALID, "Pay with a card or bank account token.", ["token"])
    gateway = await payment_methods.gateway_of(principal.organization_id)
    method = await _method(principal, request, gateway)
    async with transactions.unit_of_work():
        earlier = await _claim(principal, key, request.fingerprint())
        if earlier is None:
            if request.all_outstanding:
                request = await _outstanding(principal, request, ACCEPTS[method.kind])
            payment = await _attempt(payer, request, method, gateway)
            await _CLAIMED_FOR.run(contact_id=principal.contact.id, key=key, payment_id=payment.id)
    if earlier is None:
        crash_point("before-charge")
        charge = await _charge(payment, method.token)
        crash_point("after-charge")
        if charge is not None:
            payment = await resolve(payment.id, charge)
        crash_point("after-commit")
    else:
        payment = await _outcome_of(earlier)
    if request.save_payment_method and request.token:
        payment = await _save_method(principal, payment, request.token)
    return payment


async def _save_method(principal: ContactPrincipal, payment: Payment, token: str) -> Payment:
    """Keeps the card or bank account a payment was made with, as its payer asked, once the
    gateway took it. Whichever request gets here first (the payment's own, or a repeat after
    it died) saves it; the payment then names it, so a later repeat has nothing to do."""
    taken = payment.status in (PaymentStatus.SUCCEEDED, PaymentStatus.PENDING)
    if not taken or payment.payment_method_id is not None:
        return payment
    saved = await payment_methods.save(principal, token, quietly=True)
    if saved is not None:
        await Payment.filter(id=payment.id, payment_method_id__isnull=True).update(
            payment_method_id=saved.id
        )
    return await Payment.get(id=payment.id)


async def _attempt(payer: Payer, request: PayRequest, method: _Method, gateway: str) -> Payment:
    principal = payer.principal
    customer = await request_rows.get(Customer, principal.customer_id)
    if method.kind == MethodKind.BANK_ACCOUNT:
        await portal_features.require(
            portal_features.BANK_DEBITS, principal.organization_id, customer.id
        )
    locked = await lock_documents(principal, [a.document_id for a in request.allocations])
    held = await reserved(locked)
    preferences = await preferences_for(principal.organization_id)
    if preferences.prevent_duplicate_payments:
        _refuse_duplicates(request.allocations, locked, held)
    documents, amounts = validated(customer.id, request.allocations, locked, held)
    bulk = portal_features.is_on(portal_features.BULK_PAYMENTS, preferences, customer)
    _check_portal_rules(documents, amounts, method, bulk=bulk)
    kind = kind_of(documents)
    payment = await Payment.create(
        organization_id=principal.organization_id,
        customer_id=customer.id,
        number=await next_number(principal.organization_id, SERIES, PREFIX),
        kind=kind,
        mode=MODE_OF[method.kind],
        status=PaymentStatus.PROCESSING,
        currency=documents[0].currency,
        amount_minor=sum(amounts),
        paid_on=await calendars.today(principal.organization_id),
        paid_by_id=payer.paid_by_id,
        gateway=gateway,
        charge_key=f"pay_{uuid.uuid4().hex}",
        payment_method_id=method.saved_id,
    )
    await allocate(payment, list(zip(documents, amounts, strict=True)), payment.paid_on,
                   settled=False)  # fmt: skip
    return payment


async def _outstanding(principal: ContactPrincipal, request: PayRequest, way: str) -> PayRequest:
    """The request with one allocation per invoice still to pay `way` (card, ach), oldest due
    first, each for its whole balance. Invoices a payment in flight holds are being paid
    already: left out, as are those that do not take `way`."""
    invoices = await (
        scoped(SalesDocument, principal)
        .filter(kind=DocumentKind.INVOICE, status__in=OPEN_FOR_PAYMENT, balance_minor__gt=0)
        .order_by("due_date", "issue_date", "id")
    )
    held = await reserved(invoice.id for invoice in invoices)
    invoices = [i for i in invoices if i.id not in held and way in i.payment_methods]
    currency = _currency_to_pay(invoices, request.currency)
    chosen = [invoice for invoice in invoices if invoice.currency == currency]
    if len(chosen) > MAX_ALLOCATIONS:
        raise reject(
            ErrorCode.INVALID,
            f"{len(chosen)} invoices are outstanding; pay at most {MAX_ALLOCATIONS} at once "
            "with payInvoices.",
        )
    allocations = [
        Allocation(invoice.id, from_minor(invoice.balance_minor, currency)) for invoice in chosen
    ]
    return replace(request, allocations=allocations)


def _currency_to_pay(invoices: list[SalesDocument], asked: str | None) -> str:
    currencies = sorted({invoice.currency for invoice in invoices})
    if asked is not None:
        if asked.upper() not in currencies:
            raise reject(
                ErrorCode.NOTHING_OUTSTANDING, f"Nothing is outstanding in {asked}.", ["currency"]
            )
        return asked.upper()
    if not currencies:
        raise reject(ErrorCode.NOTHING_OUTSTANDING, "No invoice is waiting to be paid.")
    if len(currencies) > 1:
        raise reject(
            ErrorCode.REQUIRED,
            f"Invoices are outstanding in {', '.join(currencies)}: choose one currency.",
            ["currency"],
        )
    return currencies[0]


def _refuse_duplicates(
    allocations: list[Allocation], locked: dict[int, SalesDocument], held: dict[int, int]
) -> None:
    """The portal's "prevent duplicate payments": nothing more on an invoice while a payment
    of it is in flight (a bank debit takes days), that is while one holds some of its balance
    (`held`, from `balances.reserved`); allowed again if that one fails."""
    for index, allocation in enumerate(allocations):
        if allocation.document_id in held:
            raise reject(
                ErrorCode.PAYMENT_IN_PROGRESS,
                f"A payment of {locked[allocation.document_id].number} is still in progress; "
                "wait until it completes.",
                ["allocations", str(index), "documentId"],
            )


def _check_portal_rules(
    documents: list[SalesDocument], amounts: list[int], method: _Method, *, bulk: bool
) -> None:
    if len(documents) > 1 and not bulk:
        raise portal_features.refusal(portal_features.BULK_PAYMENTS, ["allocations"])
    for index, (document, minor) in enumerate(zip(documents, amounts, strict=True)):
        field = ["allocations", str(index)]
        if ACCEPTS[method.kind] not in document.payment_methods:
            raise reject(
                ErrorCode.METHOD_NOT_ACCEPTED,
                f"{document.number} cannot be paid this way.",
                [*field, "documentId"],
            )
        if minor != document.balance_minor and not document.allow_partial_payments:
            raise reject(
                ErrorCode.PARTIAL_PAYMENT_NOT_ALLOWED,
                f"{document.number} must be paid in full.",
                [*field, "amount"],
            )


async def _charge(payment: Payment, token: str) -> Charge | None:
    """The gateway's answer; None when it is unknown (the reconciler will ask again)."""
    try:
        return await gateway_named(payment.gateway).charge(
            key=payment.charge_key or "",
            token=token,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            description=payment.number,
        )
    except GatewayError:
        logger.exception("Charging %s failed; it stays PROCESSING until reconciled", payment.number)
        return None


# Every payment's outcome is written with these: rendered to SQL once (auth.prepared).
_LOCKED_PAYMENT = PreparedQuery[Payment](lambda id: Payment.filter(id=id).select_for_update().get())
_PAID_BY = PreparedQuery[list[SalesDocument]](
    lambda payment_id: (
        SalesDocument.filter(payment_allocations__payment_id=payment_id)
        .annotate(
            paid=F("payment_allocations__amount_minor"), allocation=F("payment_allocations__id")
        )
        .order_by("id")
        .select_for_update(of=(SalesDocument._meta.db_table,))
    )
)


async def resolve(payment_id: int, charge: Charge) -> Payment:
    """Writes what the gateway says became of a payment. Ended payments stay as they are, so
    a late or repeated answer changes nothing."""
    async with transactions.unit_of_work():
        payment = await _LOCKED_PAYMENT.run(id=payment_id)
        if payment.status not in IN_FLIGHT:
            return payment
        before = payment.status
        if charge.reference:
            payment.gateway_reference = charge.reference
        match charge.status:
            case ChargeStatus.SUCCEEDED:
                await _succeed(payment, before)
            case ChargeStatus.PENDING:
                if before == PaymentStatus.PROCESSING:
                    payment.status = PaymentStatus.PENDING
                    await _record(ActivityKind.PAYMENT_PENDING, payment)
            case _:
                payment.status = PaymentStatus.FAILED
                payment.failure_reason = charge.failure_reason or "The payment was not completed."
                payment.declined = charge.status == ChargeStatus.DECLINED
                await _record(ActivityKind.PAYMENT_FAILED, payment)
        await payment.save()
    return payment


async def _succeed(payment: Payment, before: PaymentStatus) -> None:
    paid = await _paid_by(payment)
    await settle(paid)
    payment.status = PaymentStatus.SUCCEEDED
    payment.settled_at = datetime.now(UTC)
    if payment.kind == PaymentKind.RETAINER_PAYMENT:
        payment.unused_minor = payment.amount_minor
    settled = before == PaymentStatus.PENDING
    await _record(ActivityKind.PAYMENT_SETTLED if settled else ActivityKind.PAYMENT_MADE, payment)
    await enqueue_receipt(payment, paid)


async def _paid_by(payment: Payment) -> list[tuple[SalesDocument, int]]:
    """The documents a payment in flight pays, each with what it pays of it, in the order the
    payment allocated them, read in one statement with the documents locked. Locked in id
    order, so two writers never deadlock. Only the documents are locked: an allocation never
    changes while its payment is in flight, and each document has one of the payment's."""
    rows = await _PAID_BY.run(payment_id=payment.id)
    return [(row, row.paid) for row in sorted(rows, key=lambda row: row.allocation)]


async def reconcile(older_than: timedelta = STALE_AFTER) -> int:
    """Ends attempts left in between by a crash or a lost answer, and bank debits whose webhook
    never came, by asking the gateway. Returns how many payments changed."""
    cutoff = datetime.now(UTC) - older_than
    stale = await Payment.filter(status__in=list(IN_FLIGHT), updated_at__lte=cutoff).order_by("id")
    changed = 0
    for payment in stale:
        try:
            charge = await _current_charge(payment)
        except GatewayError:
            logger.exception("Could not reconcile %s; trying again later", payment.number)
            continue
        if charge is not None and (await resolve(payment.id, charge)).status != payment.status:
            changed += 1
    return changed


async def _current_charge(payment: Payment) -> Charge | None:
    gateway = gateway_named(payment.gateway)
    if payment.status == PaymentStatus.PROCESSING:
        # Cancelling the key makes sure a call still under way can no longer charge it.
        return await gateway.lookup_or_cancel(payment.charge_key or "")
    return await gateway.lookup(payment.charge_key or "")


async def handle_webhook(gateway_name: str, headers: dict[str, str], body: bytes) -> None:
    """A gateway's event about a charge. The event only says which charge to look at: its state
    comes from the gateway itself, so events replayed, late or out of order change nothing that
    is not true. Raises LookupError for an unknown gateway and BadWebhook for a forged event."""
    gateway = gateway_named(gateway_name)
    event = gateway.parse_webhook(headers, body)
    if await GatewayEvent.exists(gateway=gateway_name, event_id=event.id):
        return
    payment = await Payment.get_or_none(gateway=gateway_name, charge_key=event.charge_key)
    if payment is not None and payment.status in IN_FLIGHT:
        charge = await gateway.lookup(event.charge_key)
        if charge is not None:
            await resolve(payment.id, charge)
    # Noted only once handled: a crash before this means the redelivery is handled again,
    # which `resolve` makes harmless.
    with contextlib.suppress(IntegrityError):
        await GatewayEvent.create(gateway=gateway_name, event_id=event.id)


def _claim_statement(query: type[Query], keys: Table) -> QueryBuilder:
    return (
        query.into(keys)
        .columns("organization_id", "contact_id", "key", "fingerprint", "created_at")
        .insert(0, 0, 0, 0, 0)
        .on_conflict("contact_id", "key")
        .do_nothing()
        .returning("id")
    )


# A key taken before inserts nothing, and a failed insert would need a savepoint around it to
# keep the transaction going on PostgreSQL (auth.prepared).
_CLAIM = PreparedStatement(IdempotencyKey, _claim_statement)
_CLAIMED_FOR = PreparedQuery[int](
    lambda contact_id, key, payment_id: IdempotencyKey.filter(
        contact_id=contact_id, key=key
    ).update(payment_id=payment_id)
)


async def _claim(principal: ContactPrincipal, key: str, fingerprint: str) -> IdempotencyKey | None:
    """Takes the key for this request; returns the earlier claim when it was taken before. A
    request still running with the key holds it until it ends: then this one finds its claim,
    or takes the key if that request rolled back."""
    contact_id = principal.contact.id
    now = timezone.localtime()  # as created_at stamps itself (auto_now_add)
    if await _CLAIM.fetch(principal.organization_id, contact_id, key, fingerprint, now):
        return None
    earlier = await IdempotencyKey.get(contact_id=contact_id, key=key)
    if earlier.fingerprint != fingerprint:
        raise reject(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            "This idempotency key was used for a different payment.",
            ["idempotencyKey"],
        )
    return earlier


async def _outcome_of(claim: IdempotencyKey) -> Payment:
    """The first request's payment, at once: a request repeated while the first one is still
    with the gateway gets it PROCESSING, and asks again later. Only an attempt gone stale (its
    request died) is ended here, as the reconciler would: cancelling its key stops any charge
    still under way."""
    payment = await Payment.get(id=claim.payment_id)
    stale = payment.updated_at <= datetime.now(UTC) - STALE_AFTER
    if payment.status != PaymentStatus.PROCESSING or not stale:
        return payment
    charge = await _current_charge(payment)
    return payment if charge is None else await resolve(payment.id, charge)


async def _method(principal: ContactPrincipal, request: PayRequest, gateway: str) -> _Method:
    if (request.payment_method_id is None) == (request.token is None):
        raise reject(
            ErrorCode.INVALID, "Give either a saved payment method or a token.", ["paymentMethodId"]
        )
    if request.payment_method_id is not None:
        saved = await scoped(SavedPaymentMethod, principal).get_or_none(
            id=request.payment_method_id
        )
        if saved is None:
            raise reject(ErrorCode.NOT_FOUND, "No such payment method.", ["paymentMethodId"])
        return _Method(saved.token, saved.kind, saved.id)
    details = await payment_methods.describe(gateway, request.token or "")
    return _Method(details.token, MethodKind(details.kind.value), None)


def _checked_key(key: str) -> str:
    key = (key or "").strip()
    if not 8 <= len(key) <= 100 or not key.isprintable():
        raise reject(
            ErrorCode.INVALID, "Use an idempotency key of 8 to 100 characters.", ["idempotencyKey"]
        )
    return key


async def _record(kind: ActivityKind, payment: Payment) -> None:
    payer = (
        await request_rows.get_or_none(ContactPerson, payment.paid_by_id)
        if payment.paid_by_id
        else None
    )
    activity.record(
        kind,
        actor=ContactPrincipal(payer) if payer else None,
        organization_id=payment.organization_id,
        customer_id=payment.customer_id,
        document=("PAYMENT", payment.id, payment.number),
        data={"amount_minor": payment.amount_minor, "currency": payment.currency},
    )


async def prune_idempotency_keys() -> int:
    cutoff = datetime.now(UTC) - KEYS_KEPT
    return await IdempotencyKey.filter(created_at__lt=cutoff).delete()


async def settle_test_payment(
    principal: StaffPrincipal, payment_id: int, outcome: ChargeStatus | None = None
) -> Payment:
    """Demo and test use: the test gateway settles a pending bank debit (as its token dictates,
    or as `outcome` says) and sends its signed webhook, as a bank would in a few days."""
    payment = await scoped(Payment, principal).get_or_none(id=payment_id)
    if payment is None:
        raise reject(ErrorCode.NOT_FOUND, "No such payment.", ["paymentId"])
    return await settle_on_test_gateway(payment, outcome)


async def settle_on_test_gateway(payment: Payment, outcome: ChargeStatus | None) -> Payment:
    gateway = gateway_adapter(payment.gateway) if payment.gateway else None
    if not isinstance(gateway, TestGateway) or not payment.charge_key:
        raise reject(ErrorCode.INVALID, "Only test gateway payments can be settled this way.")
    if payment.status != PaymentStatus.PENDING:
        raise reject(ErrorCode.INVALID_TRANSITION, "Only a pending payment can be settled.")
    await gateway.settle(payment.charge_key, outcome.value if outcome else None)
    headers, body = gateway.signed_webhook("charge.updated", payment.charge_key)
    await handle_webhook(gateway.name, headers, body)
    return await Payment.get(id=payment.id)
