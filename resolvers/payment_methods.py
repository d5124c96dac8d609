"""A customer's saved cards and bank accounts: gateway tokens with what may be shown of them.
Contacts add them from a gateway token, choose the default and remove them."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from auth.principals import ContactPrincipal
from auth.scoping import scoped
from integrations.gateways.base import InvalidToken, MethodDetails
from integrations.gateways.registry import gateway as gateway_named
from models.customers import Customer
from models.organizations import Organization
from models.payments import MethodKind, SavedPaymentMethod
from resolvers import portal_features, request_rows, transactions
from resolvers.errors import ErrorCode, Rejected, reject

MAX_METHODS = 20


async def describe(gateway: str, token: str) -> MethodDetails:
    """What the gateway knows of a token; an unknown one is refused as INVALID_TOKEN."""
    token = token.strip()
    try:
        if not token or len(token) > 200:
            raise InvalidToken(token)
        return await gateway_named(gateway).describe(token)
    except InvalidToken:
        raise reject(ErrorCode.INVALID_TOKEN, "The payment details were not accepted.",
                     ["token"]) from None  # fmt: skip


async def save(
    principal: ContactPrincipal, token: str, *, quietly: bool = False
) -> SavedPaymentMethod | None:
    """Saves a token for the customer; the first one becomes the default. `quietly`: for
    "save this card" while paying, where a problem must not fail the payment."""
    gateway = await gateway_of(principal.organization_id)
    try:
        details = await describe(gateway, token)
    except Rejected:
        if quietly:
            return None
        raise
    customer = await request_rows.get(Customer, principal.customer_id)
    bank_debits = await portal_features.enabled(
        portal_features.BANK_DEBITS, principal.organization_id, customer.id
    )
    if details.kind.value == MethodKind.BANK_ACCOUNT and not bank_debits:
        if quietly:
            return None
        raise portal_features.refusal(portal_features.BANK_DEBITS, ["token"])
    async with transactions.unit_of_work():
        await Customer.select_for_update().get(id=customer.id)  # one writer per customer
        existing = scoped(SavedPaymentMethod, principal)
        if await existing.filter(token=details.token).exists():
            return await existing.get(token=details.token)
        if await existing.count() >= MAX_METHODS:
            if quietly:
                return None
            raise reject(ErrorCode.INVALID, f"At most {MAX_METHODS} saved methods.", ["token"])
        try:
            async with transactions.savepoint():
                return await SavedPaymentMethod.create(
                    organization_id=principal.organization_id,
                    customer_id=customer.id,
                    kind=MethodKind(details.kind.value),
                    gateway=gateway,
                    token=details.token,
                    brand=details.brand,
                    last4=details.last4,
                    exp_month=details.exp_month,
                    exp_year=details.exp_year,
                    bank_name=details.bank_name,
                    is_default=not await existing.exists(),
                    added_by_id=principal.contact.id,
                )
        except IntegrityError:  # saved a moment ago by another request
            return await existing.get(token=details.token)


async def set_default(principal: ContactPrincipal, method_id: int) -> SavedPaymentMethod:
    async with transactions.unit_of_work():
        method = await _owned(principal, method_id)
        await scoped(SavedPaymentMethod, principal).exclude(id=method.id).update(is_default=False)
        method.is_default = True
        await method.save(update_fields=["is_default"])
    return method


async def remove(principal: ContactPrincipal, method_id: int) -> None:
    """Forgets a method; if it was the default, the newest other one takes its place."""
    async with transactions.unit_of_work():
        method = await _owned(principal, method_id)
        await method.delete()
        if method.is_default:
            newest = await scoped(SavedPaymentMethod, principal).order_by("-id").first()
            if newest is not None:
                newest.is_default = True
                await newest.save(update_fields=["is_default"])


async def _owned(principal: ContactPrincipal, method_id: int) -> SavedPaymentMethod:
    method = (
        await scoped(SavedPaymentMethod, principal).select_for_update().get_or_none(id=method_id)
    )
    if method is None:
        raise reject(ErrorCode.NOT_FOUND, "No such payment method.", ["id"])
    return method


async def gateway_of(organization_id: int) -> str:
    """The gateway that takes the organization's online payments."""
    return (await request_rows.get(Organization, organization_id)).payment_gateway
