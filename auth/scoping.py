"""The one place that decides which rows a principal may see.

Every resolver, connection, `node` lookup and DataLoader starts from `scoped(Model, principal)`.
Rows outside the scope simply do not exist for the caller, so "not yours" and "not found" look
the same. A principal kind that may never see a model gets FORBIDDEN, independent of any id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

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
from models.api_keys import ApiKey
from models.customers import ContactPerson, Customer
from models.organizations import Organization
from models.staff import StaffUser

M = TypeVar("M", bound=Model)

# Sentinels for the two rules that are not a column.
EVERY_CUSTOMER = "*"
NO_SCOPE_NEEDED = "*"


@dataclass(frozen=True)
class Visibility:
    organization_field: str = "organization_id"
    # Column holding the customer a row belongs to; None: portal contacts never see the model.
    customer_field: str | None = None
    # Scope a partner key needs; None: partner keys never see the model.
    partner_scope: str | None = None
    admin_only: bool = False


VISIBILITY: dict[type[Model], Visibility] = {
    Organization: Visibility(
        organization_field="id", customer_field=EVERY_CUSTOMER, partner_scope=NO_SCOPE_NEEDED
    ),
    Customer: Visibility(customer_field="id", partner_scope=ApiScope.CUSTOMERS_READ),
    ContactPerson: Visibility(customer_field="customer_id", partner_scope=ApiScope.CUSTOMERS_READ),
    StaffUser: Visibility(),
    ApiKey: Visibility(admin_only=True),
}


def scoped(model: type[M], principal: Principal) -> QuerySet[M]:
    rule = VISIBILITY[model]
    query = model.filter(**{rule.organization_field: _organization_id(principal)})
    match principal:
        case StaffPrincipal() if rule.admin_only and not principal.is_admin:
            raise Forbidden("Only administrators can do this.")
        case ContactPrincipal():
            if rule.customer_field is None:
                raise Forbidden()
            if rule.customer_field != EVERY_CUSTOMER:
                query = query.filter(**{rule.customer_field: principal.customer_id})
        case PartnerPrincipal():
            if rule.partner_scope is None:
                raise Forbidden("API keys cannot read this.")
            if rule.partner_scope != NO_SCOPE_NEEDED and rule.partner_scope not in principal.scopes:
                raise Forbidden(f"This API key lacks the {rule.partner_scope} scope.")
    return query


def _organization_id(principal: Principal) -> int:
    if isinstance(principal, Anonymous):
        raise Unauthenticated()
    return principal.organization_id
