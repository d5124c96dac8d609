"""The portal as a front end needs it: its public face for the pages before login, and the
switches that say what a logged-in contact may do."""

from __future__ import annotations

import strawberry

from auth import passwords
from resolvers import authentication, links, portal_features
from resolvers.preferences import preferences_for
from resolvers.validation import SUPPORTED_LANGUAGES
from schema.permissions import Anyone


@strawberry.type(
    description="What the portal's login, sign-up and password-reset pages show, before anyone "
    "logs in: nothing private."
)
class PublicPortal:
    name: str = strawberry.field(description="The business's name.")
    portal_name: str = strawberry.field(description="What portalLogin, signUp and "
                                        "requestPasswordReset take as `portalName`.")  # fmt: skip
    portal_url: str
    sign_up_open: bool = strawberry.field(description="Whether signUp takes new customers.")
    mfa_required: bool = strawberry.field(
        description="Every contact sets up an authenticator app before anything else."
    )
    languages: list[str] = strawberry.field(
        description="The languages the portal speaks (ISO 639-1), for a language picker."
    )
    default_language: str = strawberry.field(description="The business's own language.")
    password_min_length: int = strawberry.field(
        description="The shortest password signUp and resetPassword accept."
    )


@strawberry.type(
    description="What the portal lets this contact do, from the same switches the mutations "
    "check: an action that is off answers with the error code named. Partial payment is "
    "decided per invoice (Payable.allowPartialPayments), not here."
)
class PortalFeatures:
    forwarding: bool = strawberry.field(description="forwardSalesDocument (FORWARDING_OFF).")
    bulk_payments: bool = strawberry.field(
        description="payInvoices with more than one invoice, and payAllOutstanding "
        "(BULK_PAYMENTS_OFF)."
    )
    bank_debits: bool = strawberry.field(
        description="payInvoices and addPaymentMethod with a bank account, ACH "
        "(METHOD_NOT_ACCEPTED): set per customer. While it is off, Payable.paymentMethods "
        "leaves ACH out."
    )
    reviews: bool = strawberry.field(description="submitReview (REVIEWS_OFF).")
    uploads: bool = strawberry.field(
        description="uploadSharedFile, and files attached to addComment (UPLOADS_OFF)."
    )
    detail_edits: bool = strawberry.field(
        description="updateMyCustomer, updateMyContactDetails, addMyContactPerson, "
        "updateMyContactPerson (DETAIL_EDITS_OFF)."
    )
    sales_orders: bool = strawberry.field(
        description="Sales orders in salesDocuments, node and portalHome (FORBIDDEN)."
    )
    credit_notes: bool = strawberry.field(
        description="Credit notes in salesDocuments, node, creditsApplied and portalHome "
        "(FORBIDDEN)."
    )
    projects: bool = strawberry.field(description="projects and their time (FORBIDDEN).")
    subscriptions: bool = strawberry.field(description="subscriptions (FORBIDDEN).")


@strawberry.type(description="The portal as one contact sees it.")
class ContactPortal:
    features: PortalFeatures


async def portal_of_contact(organization_id: int, customer_id: int) -> ContactPortal:
    switches = await portal_features.features_of(organization_id, customer_id)
    return ContactPortal(features=PortalFeatures(**switches))


@strawberry.type
class PortalQueries:
    @strawberry.field(
        permission_classes=[Anyone],
        description="A portal's public face, by its name, for the pages before login; null for "
        "a name no portal has and for a portal turned off. Anyone may ask.",
    )
    async def portal(self, name: str) -> PublicPortal | None:
        organization = await authentication.organization_by_portal_name(name)
        if organization is None:
            return None
        preferences = await preferences_for(organization.id)
        if not preferences.portal_enabled:
            return None  # a portal turned off is as unknown as a name no portal has
        language = organization.locale.split("-")[0].lower()
        return PublicPortal(
            name=organization.name,
            portal_name=organization.portal_name,
            portal_url=links.current().portal(organization.portal_name),
            sign_up_open=portal_features.is_on(portal_features.SIGN_UP, preferences, None),
            mfa_required=preferences.mfa_required,
            languages=list(SUPPORTED_LANGUAGES),
            default_language=language if language in SUPPORTED_LANGUAGES else "en",
            password_min_length=passwords.MIN_LENGTH,
        )
