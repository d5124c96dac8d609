from __future__ import annotations

import strawberry

from auth.principals import portal_customer_of
from models.documents import DocumentKind
from models.organizations import Organization as OrganizationRow
from models.preferences import ActivityNotifications as ActivityNotificationsValue
from models.preferences import PortalPreferences as PortalPreferencesRow
from resolvers import dashboard, links, portal_features, preferences
from schema.context import Info
from schema.customers import Customer
from schema.documents import DocumentStatus
from schema.edge import LONG_TEXT_LENGTH, PORTAL_NAME_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.inputs import changes_of
from schema.money import Money
from schema.organizations import Organization
from schema.payments import Payment
from schema.permissions import IsAdmin, IsAuthenticated, IsStaff
from schema.relay import decode_id
from schema.selection import names_selected

ActivityNotifications = strawberry.enum(
    ActivityNotificationsValue,
    description="How staff hear about customer portal activity.",
)


@strawberry.type(description="The organization's customer portal settings.")
class PortalPreferences:
    portal_name: str = strawberry.field(description="Unique; part of the portal URL.")
    portal_url: str
    portal_enabled: bool = strawberry.field(
        description="The customer portal is open. Off, it does not exist for anyone outside the "
        "business: its name is unknown, contacts cannot log in, sign up or reset passwords, "
        "their sessions are refused (kept for when it opens again), their live subscriptions "
        "end, public links are invalid and no invitations go out. Staff and API keys are "
        "unaffected."
    )
    banner_message: str = strawberry.field(description="Shown on the portal home page.")
    mfa_required: bool = strawberry.field(
        description="Portal contacts must set up an authenticator app before anything else."
    )
    prevent_duplicate_payments: bool = strawberry.field(
        description="No further payment on an invoice while one (e.g. ACH) is pending."
    )
    allow_sign_up: bool = strawberry.field(description="Customers may sign up by themselves.")
    activity_notifications: ActivityNotifications = strawberry.field(  # type: ignore[valid-type]
        description="Notify me about customer portal activity: in-app, email, both or none."
    )
    email_customers_on_staff_comments: bool = strawberry.field(
        description="Email customers when staff comment on their transactions."
    )
    allow_uploads_and_detail_edits: bool = strawberry.field(
        description="Customers may upload documents and edit their information."
    )
    allow_forwarding: bool = strawberry.field(
        description="Customers may forward documents; recipients become contact persons."
    )
    allow_bulk_payments: bool = strawberry.field(description="Pay several invoices at once.")
    customer_reviews: bool = strawberry.field(description="Customers may review the business.")
    show_sales_orders: bool
    show_credit_notes: bool
    verify_identity_for_public_links: bool = strawberry.field(
        description="Public links show the PDF only after the visitor proves email or phone."
    )
    show_projects_and_timesheets: bool
    show_subscriptions: bool

    @classmethod
    def from_rows(
        cls, row: PortalPreferencesRow, organization: OrganizationRow
    ) -> PortalPreferences:
        values = {name: getattr(row, name) for name in preferences.FLAGS}
        return cls(
            portal_name=organization.portal_name,
            portal_url=links.current().portal(organization.portal_name),
            banner_message=row.banner_message,
            activity_notifications=row.activity_notifications,
            **values,
        )


@strawberry.input
class UpdatePortalPreferencesInput:
    portal_name: str | None = limited(PORTAL_NAME_LENGTH, default=strawberry.UNSET)
    banner_message: str | None = limited(LONG_TEXT_LENGTH, default=strawberry.UNSET)
    portal_enabled: bool | None = strawberry.UNSET
    mfa_required: bool | None = strawberry.UNSET
    prevent_duplicate_payments: bool | None = strawberry.UNSET
    allow_sign_up: bool | None = strawberry.UNSET
    activity_notifications: ActivityNotifications | None = strawberry.UNSET  # type: ignore[valid-type]
    email_customers_on_staff_comments: bool | None = strawberry.UNSET
    allow_uploads_and_detail_edits: bool | None = strawberry.UNSET
    allow_forwarding: bool | None = strawberry.UNSET
    allow_bulk_payments: bool | None = strawberry.UNSET
    customer_reviews: bool | None = strawberry.UNSET
    show_sales_orders: bool | None = strawberry.UNSET
    show_credit_notes: bool | None = strawberry.UNSET
    verify_identity_for_public_links: bool | None = strawberry.UNSET
    show_projects_and_timesheets: bool | None = strawberry.UNSET
    show_subscriptions: bool | None = strawberry.UNSET


@strawberry.type
class UpdatePortalPreferencesPayload:
    portal_preferences: PortalPreferences | None = None
    errors: list[UserError]


@strawberry.type
class StatusCount:
    status: DocumentStatus  # type: ignore[valid-type]
    count: int


@strawberry.type(description="The portal's home page: banner, contact details and the figures.")
class PortalHome:
    banner_message: str
    can_edit_details: bool = strawberry.field(
        description="Whether the customer's contacts may edit their details: updateMyCustomer, "
        "updateMyContactDetails, addMyContactPerson, updateMyContactPerson."
    )
    _dashboard: strawberry.Private[dashboard.Dashboard]

    @strawberry.field
    async def organization(self, info: Info) -> Organization:
        return await Organization.load(info, self._dashboard.principal.organization_id)

    @strawberry.field(description="The customer whose home this is; null for staff without one.")
    async def customer(self, info: Info) -> Customer | None:
        return await Customer.load(info, self._dashboard.customer_id)

    # The figures are loaded by portalHome before these resolve: see FIGURE_FAMILIES.
    @strawberry.field(description="Unpaid balance of sent invoices, one amount per currency.")
    def outstanding_invoices(self) -> list[Money]:
        return self._amounts(DocumentKind.INVOICE)  # type: ignore[return-value]

    @strawberry.field(
        description="The part of the outstanding invoices past its due date (the invoices "
        "whose status is OVERDUE), one amount per currency."
    )
    def overdue_invoices(self) -> list[Money]:
        return [Money.of(amount.minor, amount.currency) for amount in self._dashboard.overdue]

    @strawberry.field(
        description="Unapplied credit notes, what the business owes the customer; null while "
        "the portal does not show credit notes."
    )
    def available_credits(self) -> list[Money] | None:
        return self._amounts(DocumentKind.CREDIT_NOTE)

    @strawberry.field(description="Unpaid balance of sent retainer invoices, per currency.")
    def outstanding_retainer_invoices(self) -> list[Money]:
        return self._amounts(DocumentKind.RETAINER_INVOICE)  # type: ignore[return-value]

    @strawberry.field(
        description="Retainer money paid and not yet applied to invoices or refunded, per currency."
    )
    def available_retainer_payments(self) -> list[Money]:
        unused = self._dashboard.payments.unused_retainers
        return [Money.of(amount.minor, amount.currency) for amount in unused]

    @strawberry.field(description="The customer's latest completed payment: amount and date.")
    def last_payment_made(self) -> Payment | None:
        row = self._dashboard.payments.last_payment
        return Payment.from_row(row) if row is not None else None

    @strawberry.field(
        description="Sales orders by status; null while the portal does not show sales orders."
    )
    def sales_order_counts(self) -> list[StatusCount] | None:
        counts = self._dashboard.documents.sales_order_counts
        if counts is None:
            return None
        return [StatusCount(status=DocumentStatus(status), count=n) for status, n in counts.items()]

    def _amounts(self, kind: DocumentKind) -> list[Money] | None:
        amounts = self._dashboard.documents.outstanding[kind]
        if amounts is None:
            return None
        return [Money.of(amount.minor, amount.currency) for amount in amounts]


# The family of figures each figure field reads. portalHome loads the families its selection
# asks for up front, one query each, so that the fields are plain reads: concurrent async
# fields cost a coroutine and a task apiece.
FIGURE_FAMILIES = {
    "outstandingInvoices": "documents",
    "overdueInvoices": "documents",
    "availableCredits": "documents",
    "outstandingRetainerInvoices": "documents",
    "salesOrderCounts": "documents",
    "availableRetainerPayments": "payments",
    "lastPaymentMade": "payments",
}


def _families_asked_for(info: Info) -> set[str]:
    names = names_selected(info)
    return {family for name, family in FIGURE_FAMILIES.items() if name in names}


@strawberry.type
class PreferencesQueries:
    @strawberry.field(permission_classes=[IsStaff])
    async def portal_preferences(self, info: Info) -> PortalPreferences:
        organization_id = info.context.staff.organization_id
        row = await preferences.preferences_for(organization_id)
        return PortalPreferences.from_rows(row, await OrganizationRow.get(id=organization_id))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The portal home: a contact's own, a customer-scoped key's customer's; staff "
        "and other partner keys pass `customerId`.",
    )
    async def portal_home(self, info: Info, customer_id: strawberry.ID | None = None) -> PortalHome:
        principal = info.context.principal
        row = await preferences.preferences_for(principal.organization_id)
        chosen = portal_customer_of(principal)
        if chosen is None and customer_id:
            chosen = decode_id(customer_id, Customer)
        home = dashboard.Dashboard(principal, chosen)
        await home.load(_families_asked_for(info))
        return PortalHome(
            banner_message=row.banner_message,
            can_edit_details=portal_features.is_on(portal_features.DETAIL_EDITS, row, None),
            _dashboard=home,
        )


@strawberry.type
class PreferencesMutations:
    @strawberry.mutation(
        permission_classes=[IsAdmin], description="Each change is recorded as activity."
    )
    async def update_portal_preferences(
        self, info: Info, input: UpdatePortalPreferencesInput
    ) -> UpdatePortalPreferencesPayload:
        async def action() -> dict:
            row, organization = await preferences.update_preferences(
                info.context.staff, changes_of(input)
            )
            return {"portal_preferences": PortalPreferences.from_rows(row, organization)}

        return await payload_or_errors(UpdatePortalPreferencesPayload, action)
