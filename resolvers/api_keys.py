"""Partner API keys, as administrators manage them."""

from __future__ import annotations

from datetime import UTC, date, datetime

from auth.api_keys import ApiScope, issue_api_key, portal_is_on
from auth.principals import StaffPrincipal
from auth.scoping import scoped
from models.api_keys import ApiKey
from models.customers import Customer
from resolvers import calendars
from resolvers.activity import announce_access_change
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker


async def create_api_key(
    principal: StaffPrincipal,
    name: str,
    scopes: list[ApiScope],
    expires_on: date | None = None,
    customer_id: int | None = None,
) -> tuple[str, ApiKey]:
    """`customer_id`: the key reads only that customer's rows, as its portal contacts see
    them; it must be a customer of the organization whose portal is on."""
    checker = Checker()
    name = checker.text(name, ["name"], max_length=200, required=True)
    if not scopes:
        checker.add(ErrorCode.REQUIRED, "Choose at least one scope.", ["scopes"])
    if expires_on is not None and expires_on < await calendars.today(principal.organization_id):
        checker.add(ErrorCode.INVALID, "The expiry date is in the past.", ["expiresOn"])
    if customer_id is not None:
        if not await scoped(Customer, principal).filter(id=customer_id).exists():
            checker.add(ErrorCode.NOT_FOUND, "Customer not found.", ["customerId"])
        elif not await portal_is_on(customer_id):
            checker.add(
                ErrorCode.NO_PORTAL_CONTACT,
                "The customer has no portal: give one of its contacts portal access first.",
                ["customerId"],
            )
    checker.raise_if_any()
    return await issue_api_key(
        organization_id=principal.organization_id,
        name=name,
        scopes=scopes,
        created_by_id=principal.user.id,
        expires_on=expires_on,
        customer_id=customer_id,
    )


async def revoke_api_key(principal: StaffPrincipal, key_id: int) -> ApiKey:
    api_key = await scoped(ApiKey, principal).get_or_none(id=key_id)
    if api_key is None:
        raise reject(ErrorCode.NOT_FOUND, "API key not found.", ["id"])
    if api_key.revoked_at is None:
        api_key.revoked_at = datetime.now(UTC)
        await api_key.save(update_fields=["revoked_at"])
        await announce_access_change(api_key.organization_id)
    return api_key
