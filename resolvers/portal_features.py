"""What the portal lets its contacts do: one table of switches, read both by the checks that
refuse a request and by the view that tells a front end what to show, so the two cannot
disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from auth.errors import Forbidden
from auth.principals import Principal, portal_customer_of
from models.customers import Customer
from models.preferences import PortalPreferences
from resolvers import request_rows
from resolvers.errors import ErrorCode, Rejected, reject
from resolvers.preferences import preferences_for


@dataclass(frozen=True)
class Feature:
    # As the contact's view names it (schema.portal.PortalFeatures).
    name: str
    # The portal preference that turns it on for every customer; None: no such preference.
    preference: str | None
    refusal: str
    # The payload error a mutation answers while it is off; None where the feature is a part
    # of the graph a contact cannot see (FORBIDDEN) rather than an action.
    code: ErrorCode | None = None
    # A setting of the contact's customer that must be on as well.
    customer_flag: str | None = None


SIGN_UP = Feature(
    "sign_up", "allow_sign_up", "This portal does not take sign-ups.", ErrorCode.SIGN_UP_DISABLED
)
FORWARDING = Feature(
    "forwarding",
    "allow_forwarding",
    "This portal does not forward documents.",
    ErrorCode.FORWARDING_OFF,
)
BULK_PAYMENTS = Feature(
    "bulk_payments",
    "allow_bulk_payments",
    "Pay one invoice at a time.",
    ErrorCode.BULK_PAYMENTS_OFF,
)
BANK_DEBITS = Feature(
    "bank_debits",
    None,  # each customer is allowed bank debits or not
    "This customer cannot pay by bank account.",
    ErrorCode.METHOD_NOT_ACCEPTED,
    customer_flag="allow_ach",
)
REVIEWS = Feature(
    "reviews", "customer_reviews", "Customer reviews are turned off.", ErrorCode.REVIEWS_OFF
)
UPLOADS = Feature(
    "uploads",
    "allow_uploads_and_detail_edits",
    "This portal does not accept uploads.",
    ErrorCode.UPLOADS_OFF,
)
DETAIL_EDITS = Feature(
    "detail_edits",
    "allow_uploads_and_detail_edits",
    "This portal does not let customers edit their details.",
    ErrorCode.DETAIL_EDITS_OFF,
)
SALES_ORDERS = Feature(
    "sales_orders", "show_sales_orders", "This portal does not show sales orders."
)
CREDIT_NOTES = Feature(
    "credit_notes", "show_credit_notes", "This portal does not show credit notes."
)
PROJECTS = Feature(
    "projects",
    "show_projects_and_timesheets",
    "This portal does not show projects and timesheets.",
)
SUBSCRIPTIONS = Feature(
    "subscriptions", "show_subscriptions", "This portal does not show subscriptions."
)

# What a contact may do, in the order the front end is told.
CONTACT_FEATURES = (
    FORWARDING,
    BULK_PAYMENTS,
    BANK_DEBITS,
    REVIEWS,
    UPLOADS,
    DETAIL_EDITS,
    SALES_ORDERS,
    CREDIT_NOTES,
    PROJECTS,
    SUBSCRIPTIONS,
)


def is_on(feature: Feature, preferences: PortalPreferences, customer: Customer | None) -> bool:
    if feature.preference is not None and not getattr(preferences, feature.preference):
        return False
    if feature.customer_flag is not None:
        return customer is not None and bool(getattr(customer, feature.customer_flag))
    return True


async def enabled(feature: Feature, organization_id: int, customer_id: int | None = None) -> bool:
    preferences = await preferences_for(organization_id)
    customer = None
    if feature.customer_flag is not None and customer_id is not None:
        customer = await request_rows.get(Customer, customer_id)
    return is_on(feature, preferences, customer)


async def require(
    feature: Feature,
    organization_id: int,
    customer_id: int | None = None,
    field: Sequence[str] | None = None,
) -> None:
    """An action the portal turned off is refused as a business rule: nothing changes."""
    if not await enabled(feature, organization_id, customer_id):
        raise refusal(feature, field)


def refusal(feature: Feature, field: Sequence[str] | None = None) -> Rejected:
    assert feature.code is not None, f"{feature.name} is not an action"
    return reject(feature.code, feature.refusal, field)


async def require_shown(principal: Principal, feature: Feature) -> None:
    """Portal contacts and customer-scoped keys see a part of the graph only while it is on;
    staff and organization-wide keys always."""
    customer_id = portal_customer_of(principal)
    if customer_id is not None and not await enabled(
        feature, principal.organization_id, customer_id
    ):
        raise Forbidden(feature.refusal)


async def features_of(organization_id: int, customer_id: int) -> dict[str, bool]:
    preferences = await preferences_for(organization_id)
    customer = await request_rows.get(Customer, customer_id)
    return {feature.name: is_on(feature, preferences, customer) for feature in CONTACT_FEATURES}


# How a document names bank debits among the methods it takes.
BANK_DEBIT = "ach"


def methods_offered(methods: list[str], *, bank_debits: bool) -> list[str]:
    """The online payment methods a document offers its customer."""
    return [method for method in methods if bank_debits or method != BANK_DEBIT]


async def bank_debits_allowed(customer_ids: Sequence[int]) -> list[bool]:
    """Of customers whose documents the caller already sees: only the one switch is read."""
    allowed = dict(await Customer.filter(id__in=list(customer_ids)).values_list("id", "allow_ach"))
    return [bool(allowed.get(customer_id)) for customer_id in customer_ids]
