"""Partner API keys: scoped, read-only, shown once and stored hashed; organization-wide or
limited to one customer."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from auth.principals import Anonymous, PartnerPrincipal, Principal
from auth.tokens import hash_token, new_token
from models.api_keys import ApiKey
from models.customers import ContactPerson, PortalAccess
from models.organizations import Organization
from models.preferences import PortalPreferences

API_KEY_PREFIX = "ptk"
_TOUCH_INTERVAL = timedelta(minutes=1)


class ApiScope(StrEnum):
    CUSTOMERS_READ = "customers:read"
    ACTIVITY_READ = "activity:read"
    ACTIVITY_SUBSCRIBE = "activity:subscribe"
    DOCUMENTS_READ = "documents:read"
    PAYMENTS_READ = "payments:read"
    REVIEWS_READ = "reviews:read"


async def issue_api_key(
    *,
    organization_id: int,
    name: str,
    scopes: list[ApiScope],
    created_by_id: int | None,
    expires_on: date | None = None,
    customer_id: int | None = None,
) -> tuple[str, ApiKey]:
    secret, key_hash = new_token(API_KEY_PREFIX)
    api_key = await ApiKey.create(
        organization_id=organization_id,
        name=name,
        prefix=secret[: len(API_KEY_PREFIX) + 9],
        key_hash=key_hash,
        scopes=sorted(str(scope) for scope in scopes),
        created_by_id=created_by_id,
        expires_on=expires_on,
        customer_id=customer_id,
    )
    return secret, api_key


async def principal_for_api_key(secret: str) -> tuple[Principal, Organization | None]:
    """Who the key stands for, and its organization."""
    api_key = await _live_key(key_hash=hash_token(secret))
    if api_key is None:
        return Anonymous(), None
    now = datetime.now(UTC)
    if api_key.last_used_at is None or now - api_key.last_used_at >= _TOUCH_INTERVAL:
        await ApiKey.filter(id=api_key.id).update(last_used_at=now)
        api_key.last_used_at = now
    return PartnerPrincipal(api_key, frozenset(api_key.scopes)), api_key.organization


def is_api_key(secret: str) -> bool:
    return secret.startswith(f"{API_KEY_PREFIX}_")


async def api_key_is_live(api_key_id: int) -> bool:
    return await _live_key(id=api_key_id) is not None


async def _live_key(**match: Any) -> ApiKey | None:
    """Neither revoked nor expired: a key lasts to the end of its last day in the
    organization's calendar. A customer-scoped key also needs its customer's portal on, and
    the organization's: it sees what the customer's contacts see, and they see nothing then."""
    api_key = await ApiKey.get_or_none(revoked_at=None, **match).select_related("organization")
    if api_key is None:
        return None
    if api_key.expires_on is not None and api_key.expires_on < api_key.organization.today():
        return None
    if api_key.customer_id is not None and not await portal_is_on(api_key.customer_id):
        return None
    if api_key.customer_id is not None and await PortalPreferences.exists(
        organization_id=api_key.organization_id, portal_enabled=False
    ):
        return None
    return api_key


async def portal_is_on(customer_id: int) -> bool:
    """Whether the customer has the portal: one of its contacts is invited or active. Turning
    the portal off for every contact turns off the customer's keys with it."""
    return await ContactPerson.exists(
        customer_id=customer_id, portal_access__in=[PortalAccess.INVITED, PortalAccess.ACTIVE]
    )
