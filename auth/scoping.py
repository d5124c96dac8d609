"""The one place that decides which rows a principal may see.

Every resolver, connection, `node` lookup and DataLoader starts from `scoped(Model, principal)`.
Rows outside the scope simply do not exist for the caller, so "not yours" and "not found" look
the same. A principal kind that may never see a model gets FORBIDDEN, independent of any id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tortoise.models import Model
from tortoise.queryset import QuerySet

from auth.api_keys import ApiScope
from auth.errors import Forbidden, Unauthenticated
from auth.principals import (
    Anonymous,
    ContactPrincipal,
    PartnerPrincipal,
    Principal,
    StaffPrincipal,
)
from models.activity import Activity, Notification
from models.api_keys import ApiKey
from models.comments import Comment
from models.customers import ContactPerson, Customer, CustomFieldDefinition
from models.documents import CreditUse, DocumentStatus, SalesDocument, Shipment
from models.files import SharedFile
from models.organizations import Organization
from models.outbox import OutboxMessage
from models.payments import Payment, PaymentAllocation, PaymentRefund, SavedPaymentMethod
from models.projects import Project, TimeEntry
from models.reviews import EmailTemplate, Review, ReviewRequest
from models.sharing import PublicLink, PublicLinkAccess
from models.staff import StaffUser
from models.subscriptions import CustomerSubscription

M = TypeVar("M", bound=Model)

# Sentinels for the two rules that are not a column.
EVERY_CUSTOMER = "*"
NO_SCOPE_NEEDED = "*"


@dataclass(frozen=True)
class Visibility:
    organization_field: str = "organization_id"
    # Column holding the customer a row belongs to; None: portal contacts never see the model.
    customer_field: str | None = None
    # Further conditions on the rows a portal contact sees.
    contact_where: Mapping[str, Any] = field(default_factory=dict)
    # Scope a partner key needs; None: partner keys never see the model.
    partner_scope: str | None = None
    admin_only: bool = False
    # Column naming the staff user a row belongs to; set: staff see only their own rows.
    staff_owner_field: str | None = None


VISIBILITY: dict[type[Model], Visibility] = {
    Organization: Visibility(
        organization_field="id", customer_field=EVERY_CUSTOMER, partner_scope=NO_SCOPE_NEEDED
    ),
    Customer: Visibility(customer_field="id", partner_scope=ApiScope.CUSTOMERS_READ),
    ContactPerson: Visibility(customer_field="customer_id", partner_scope=ApiScope.CUSTOMERS_READ),
    StaffUser: Visibility(),
    ApiKey: Visibility(admin_only=True),
    # Who was emailed what, and whether it went out: administrators'. Staff see a contact's
    # last invitation through the contact (resolvers.outgoing_email).
    OutboxMessage: Visibility(admin_only=True),
    Activity: Visibility(
        customer_field="customer_id",
        contact_where={"visible_to_customer": True},
        partner_scope=ApiScope.ACTIVITY_READ,
    ),
    Notification: Visibility(staff_owner_field="staff_user_id"),
    # Drafts are the business's own until sent.
    SalesDocument: Visibility(
        customer_field="customer_id",
        contact_where={"status__not": DocumentStatus.DRAFT},
        partner_scope=ApiScope.DOCUMENTS_READ,
    ),
    CustomerSubscription: Visibility(
        customer_field="customer_id", partner_scope=ApiScope.DOCUMENTS_READ
    ),
    Project: Visibility(customer_field="customer_id", partner_scope=ApiScope.DOCUMENTS_READ),
    TimeEntry: Visibility(customer_field="customer_id", partner_scope=ApiScope.DOCUMENTS_READ),
    Shipment: Visibility(customer_field="customer_id", partner_scope=ApiScope.DOCUMENTS_READ),
    CreditUse: Visibility(
        customer_field="credit_note__customer_id",
        partner_scope=ApiScope.DOCUMENTS_READ,
    ),
    Payment: Visibility(customer_field="customer_id", partner_scope=ApiScope.PAYMENTS_READ),
    PaymentAllocation: Visibility(
        customer_field="customer_id", partner_scope=ApiScope.PAYMENTS_READ
    ),
    PaymentRefund: Visibility(customer_field="customer_id", partner_scope=ApiScope.PAYMENTS_READ),
    # Shared links and who opened them are the business's own records.
    PublicLink: Visibility(),
    PublicLinkAccess: Visibility(organization_field="link__organization_id"),
    # Partners never see how a customer pays.
    SavedPaymentMethod: Visibility(customer_field="customer_id"),
    # Contacts see which custom fields they may edit, for every customer alike.
    CustomFieldDefinition: Visibility(
        customer_field=EVERY_CUSTOMER, partner_scope=ApiScope.CUSTOMERS_READ
    ),
    # Internal comments and their attachments are between staff only.
    Comment: Visibility(
        customer_field="customer_id",
        contact_where={"internal": False, "document__status__not": DocumentStatus.DRAFT},
        partner_scope=ApiScope.DOCUMENTS_READ,
    ),
    SharedFile: Visibility(
        customer_field="customer_id",
        contact_where={"visible_to_customer": True},
        partner_scope=ApiScope.DOCUMENTS_READ,
    ),
    ReviewRequest: Visibility(customer_field="customer_id", partner_scope=ApiScope.REVIEWS_READ),
    Review: Visibility(customer_field="customer_id", partner_scope=ApiScope.REVIEWS_READ),
    EmailTemplate: Visibility(),
    # A document's line items are seen with their document: resolvers.line_items.
}


def scoped(model: type[M], principal: Principal) -> QuerySet[M]:
    return model.filter(**conditions(model, principal))


def conditions(model: type[Model], principal: Principal) -> dict[str, Any]:
    """The equality conditions that make up a principal's view of a model."""
    rule = VISIBILITY[model]
    where: dict[str, Any] = {rule.organization_field: _organization_id(principal)}
    match principal:
        case StaffPrincipal():
            if rule.admin_only and not principal.is_admin:
                raise Forbidden("Only administrators can do this.")
            if rule.staff_owner_field:
                where[rule.staff_owner_field] = principal.user.id
        case ContactPrincipal():
            if rule.staff_owner_field:
                raise Forbidden()
            where.update(_customer_view(rule, principal.customer_id))
        case PartnerPrincipal():
            require_scope(principal, rule.partner_scope)
            if rule.staff_owner_field:
                raise Forbidden("API keys cannot read this.")
            if principal.customer_id is not None:
                # A customer-scoped key sees what the customer's contacts see, within its scopes.
                where.update(_customer_view(rule, principal.customer_id))
    return where


def _customer_view(rule: Visibility, customer_id: int) -> dict[str, Any]:
    """One customer's view of a model, as its portal shows it."""
    if rule.customer_field is None:
        raise Forbidden()
    where = {} if rule.customer_field == EVERY_CUSTOMER else {rule.customer_field: customer_id}
    return where | dict(rule.contact_where)


def can_see(principal: Principal, row: Model) -> bool:
    """The same rule as `scoped`, for a row already in hand (e.g. an event being pushed)."""
    try:
        where = conditions(type(row), principal)
    except (Forbidden, Unauthenticated):
        return False
    return all(_holds(row, name, value) for name, value in where.items())


def _holds(row: Model, lookup: str, value: Any) -> bool:
    if lookup.endswith("__not"):
        return getattr(row, lookup.removesuffix("__not")) != value
    return getattr(row, lookup) == value


def require_scope(principal: PartnerPrincipal, scope: str | None) -> None:
    if scope is None:
        raise Forbidden("API keys cannot read this.")
    if scope != NO_SCOPE_NEEDED and scope not in principal.scopes:
        raise Forbidden(f"This API key lacks the {scope} scope.")


def _organization_id(principal: Principal) -> int:
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    return principal.organization_id
