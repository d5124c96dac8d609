"""Public links: staff share a document by link; anyone holding the link sees it and pays it,
after a one-time code where the organization asks for identity verification."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import strawberry
from tortoise.expressions import Q

from models.documents import LineItem as LineItemRow
from models.organizations import Organization
from models.payments import Payment as PaymentRow
from models.payments import PaymentStatus as PaymentStatusValue
from models.sharing import CodeChannel as CodeChannelValue
from models.sharing import LinkAction as LinkActionValue
from models.sharing import PublicLink as PublicLinkRow
from models.sharing import PublicLinkAccess as PublicLinkAccessRow
from resolvers import public_links
from resolvers.documents import PAYABLE
from resolvers.errors import ErrorCode
from resolvers.pagination import Ordering
from schema.context import Info
from schema.documents import (
    DocumentKind,
    DocumentStatus,
    SalesDocumentNode,
    status_of,
)
from schema.documents import document_id as sales_document_id
from schema.errors import UserError, payload_or_errors
from schema.money import Money
from schema.payments import PaymentStatus
from schema.permissions import Anyone, IsStaff
from schema.relay import Connection, ModelNode, connection, decode_id
from schema.staff import StaffUser

STAFF_ONLY = "Staff only."

CodeChannel = strawberry.enum(
    CodeChannelValue,
    description="Where a verification code goes: EMAIL to the customer's email address, SMS to "
    "its primary contact's mobile number.",
)
LinkAction = strawberry.enum(
    LinkActionValue,
    description="What a visitor did with a public link: VIEW, PDF (downloaded it), CODE_SENT, "
    "VERIFIED (a correct code), CODE_REFUSED (a wrong or spent code), PAY.",
)


@strawberry.type(description=f"One use of a public link: what, when and from where. {STAFF_ONLY}")
class PublicLinkAccess(ModelNode):
    model = PublicLinkAccessRow

    id: strawberry.relay.NodeID[int]
    action: LinkAction  # type: ignore[valid-type]
    ip_address: str
    user_agent: str
    accessed_at: datetime

    @classmethod
    def from_row(cls, row: PublicLinkAccessRow) -> PublicLinkAccess:
        return cls(
            id=row.id,
            action=row.action,
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            accessed_at=row.accessed_at,
        )


@strawberry.type(description=f"A document shared by an unguessable link. {STAFF_ONLY}")
class PublicLink(ModelNode):
    model = PublicLinkRow

    id: strawberry.relay.NodeID[int]
    url: str | None = strawberry.field(
        description="The link to send. Only in the shareSalesDocument payload: Portico keeps "
        "only a hash of it, so it cannot be shown again."
    )
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime
    _row: strawberry.Private[PublicLinkRow]

    @strawberry.field(description="Neither revoked nor expired.")
    def is_active(self) -> bool:
        return self._row.revoked_at is None and self._row.expires_at > datetime.now(UTC)

    @strawberry.field
    async def document(self, info: Info) -> SalesDocumentNode | None:
        return await SalesDocumentNode.load(info, self._row.document_id)

    @strawberry.field
    async def created_by(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._row.created_by_id)

    @strawberry.field(description="Who used the link, newest first.")
    async def accesses(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[PublicLinkAccess]:
        return await connection(
            info, PublicLinkAccess, where=Q(link_id=self._row.id),
            order_by=Ordering("accessed_at", descending=True), first=first, after=after,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: PublicLinkRow, url: str | None = None) -> PublicLink:
        return cls(
            id=row.id,
            url=url,
            expires_at=row.expires_at,
            revoked_at=row.revoked_at,
            last_used_at=row.last_used_at,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.type(description="Where a verification code can be sent, masked.")
class PublicLinkDestination:
    channel: CodeChannel  # type: ignore[valid-type]
    masked_destination: str = strawberry.field(description="e.g. m•••@northwind.example.")


@strawberry.type(
    description="A line of a shared document. Its own type, not LineItem: staff of another "
    "organization holding the link must not see this one's costs."
)
class PublicLineItem:
    name: str
    description: str
    quantity: Decimal
    unit: str
    rate: Decimal
    discount_percent: Decimal
    tax_percent: Decimal
    amount: Money = strawberry.field(description="Quantity x rate, before discount and tax.")
    discount: Money

    @classmethod
    def from_row(cls, row: LineItemRow, currency: str) -> PublicLineItem:
        return cls(
            name=row.name,
            description=row.description,
            quantity=row.quantity,
            unit=row.unit,
            rate=row.rate,
            discount_percent=row.discount_percent,
            tax_percent=row.tax_percent,
            amount=Money.of(row.amount_minor, currency),
            discount=Money.of(row.discount_minor, currency),
        )


@strawberry.type(description="A shared document's content, shown once any verification passed.")
class PublicDocumentDetails:
    status: DocumentStatus  # type: ignore[valid-type]
    currency: str
    issue_date: date
    due_date: date | None
    reference: str
    customer_name: str
    customer_notes: str
    terms: str
    line_items: list[PublicLineItem]
    subtotal: Money
    discount: Money
    tax: Money
    total: Money
    pdf_url: str = strawberry.field(
        description="The PDF; with identity verification it carries the visit token and works "
        "while the visit lasts."
    )


@strawberry.type(description="A shared document as its public link shows it.")
class PublicDocumentView:
    organization_name: str
    kind: DocumentKind  # type: ignore[valid-type]
    number: str
    amount_due: Money | None = strawberry.field(
        description="Invoices and retainer invoices: the balance due. Shown without verification."
    )
    payable: bool = strawberry.field(
        description="Can be paid with payPublicDocument now, verified or not."
    )
    verification_required: bool = strawberry.field(
        description="The organization asks visitors to prove who they are: `details` stays null "
        "until a code from requestPublicLinkCode is confirmed with verifyPublicLinkCode and its "
        "visitToken is passed."
    )
    verification_channels: list[PublicLinkDestination] = strawberry.field(
        description="Where a code can be sent, while verification is required."
    )
    details: PublicDocumentDetails | None

    @classmethod
    def of(cls, view: public_links.LinkView) -> PublicDocumentView:
        row = view.document
        payable_kind = row.kind in PAYABLE
        return cls(
            organization_name=view.organization_name,
            kind=row.kind,
            number=row.number,
            amount_due=Money.of(row.balance_minor, row.currency) if payable_kind else None,
            payable=view.payable,
            verification_required=view.verification_required,
            verification_channels=[
                PublicLinkDestination(channel=d.channel, masked_destination=d.masked)
                for d in view.destinations
            ],
            details=_details(view),
        )


def _details(view: public_links.LinkView) -> PublicDocumentDetails | None:
    if view.details is None:
        return None
    row = view.document
    money = {name: Money.of(getattr(row, f"{name}_minor"), row.currency)
             for name in ("subtotal", "discount", "tax", "total")}  # fmt: skip
    return PublicDocumentDetails(
        status=status_of(row),
        currency=row.currency,
        issue_date=row.issue_date,
        due_date=row.due_date,
        reference=row.reference,
        customer_name=view.details.customer_name,
        customer_notes=row.customer_notes,
        terms=row.terms,
        line_items=[PublicLineItem.from_row(line, row.currency) for line in view.details.lines],
        pdf_url=view.details.pdf_url,
        **money,
    )


@strawberry.type(description="A payment made through a public link.")
class PublicPayment:
    number: str
    status: PaymentStatus  # type: ignore[valid-type]
    amount: Money


# Staff


@strawberry.input
class ShareSalesDocumentInput:
    document_id: strawberry.ID = strawberry.field(
        description="A sent invoice, retainer invoice, quote, sales order or credit note."
    )
    expires_in_days: int = strawberry.field(
        default=public_links.DEFAULT_DAYS, description=f"1 to {public_links.MAX_DAYS}."
    )


@strawberry.input
class PublicLinkIdInput:
    id: strawberry.ID


@strawberry.input
class RevokeAllPublicLinksInput:
    document_id: strawberry.ID


@strawberry.type
class PublicLinkPayload:
    public_link: PublicLink | None = None
    errors: list[UserError]


@strawberry.type
class RevokeAllPublicLinksPayload:
    revoked_count: int | None = None
    errors: list[UserError]


# Visitors


@strawberry.input
class RequestPublicLinkCodeInput:
    token: str = strawberry.field(description="The link's token.")
    channel: CodeChannel  # type: ignore[valid-type]


@strawberry.type
class RequestPublicLinkCodePayload:
    masked_destination: str | None = None
    errors: list[UserError]


@strawberry.input
class VerifyPublicLinkCodeInput:
    token: str = strawberry.field(description="The link's token.")
    code: str


@strawberry.type
class VerifyPublicLinkCodePayload:
    visit_token: str | None = strawberry.field(
        default=None,
        description="Pass it to publicDocument (visitToken) to see the details; valid for "
        "30 minutes.",
    )
    errors: list[UserError]


@strawberry.input
class PayPublicDocumentInput:
    token: str = strawberry.field(description="The link's token.")
    idempotency_key: str = strawberry.field(
        description="Unique per payment (8-100 characters): the same request again returns the "
        "first result and never charges twice."
    )
    amount: Decimal = strawberry.field(
        description="The balance due, or less where the invoice allows partial payments."
    )
    payment_token: str = strawberry.field(
        description="A card or bank account token from the payment gateway."
    )


@strawberry.type
class PayPublicDocumentPayload:
    payment: PublicPayment | None = None
    errors: list[UserError]


@strawberry.type
class PublicLinkQueries:
    @strawberry.field(
        permission_classes=[IsStaff],
        description=f"The document's public links, newest first, without their secrets. "
        f"{STAFF_ONLY}",
    )
    async def public_links(
        self, info: Info, document_id: strawberry.ID, first: int | None = None,
        after: str | None = None,
    ) -> Connection[PublicLink]:  # fmt: skip
        return await connection(
            info, PublicLink, where=Q(document_id=sales_document_id(document_id)),
            order_by=Ordering("created_at", descending=True), first=first, after=after,
        )  # fmt: skip

    @strawberry.field(
        permission_classes=[Anyone],
        description="A shared document by its link's token; no login needed. Every invalid, "
        "expired or revoked link gets the same LINK_INVALID error.",
    )
    async def public_document(
        self, info: Info, token: str, visit_token: str | None = None
    ) -> PublicDocumentView:
        view = await public_links.open_link(token, info.context.client, visit_token)
        return PublicDocumentView.of(view)


@strawberry.type
class PublicLinkMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="A new public link to a sent document. Its url is in this payload only.",
    )
    async def share_sales_document(
        self, info: Info, input: ShareSalesDocumentInput
    ) -> PublicLinkPayload:
        async def action() -> dict:
            row, secret = await public_links.share_document(
                info.context.staff, sales_document_id(input.document_id), input.expires_in_days
            )
            organization = await Organization.get(id=row.organization_id)
            url = public_links.share_url(organization, secret)
            return {"public_link": PublicLink.from_row(row, url)}

        return await payload_or_errors(PublicLinkPayload, action)

    @strawberry.mutation(permission_classes=[IsStaff], description="The link stops working.")
    async def revoke_public_link(self, info: Info, input: PublicLinkIdInput) -> PublicLinkPayload:
        async def action() -> dict:
            row = await public_links.revoke_link(
                info.context.staff, decode_id(input.id, PublicLink)
            )
            return {"public_link": PublicLink.from_row(row)}

        return await payload_or_errors(PublicLinkPayload, action)

    @strawberry.mutation(
        permission_classes=[IsStaff], description="Every active link to the document stops working."
    )
    async def revoke_all_public_links(
        self, info: Info, input: RevokeAllPublicLinksInput
    ) -> RevokeAllPublicLinksPayload:
        async def action() -> dict:
            count = await public_links.revoke_all_links(
                info.context.staff, sales_document_id(input.document_id)
            )
            return {"revoked_count": count}

        return await payload_or_errors(RevokeAllPublicLinksPayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Sends a 6-digit code (valid 10 minutes, replacing any earlier one) to the "
        "customer's address for the channel, when the organization asks visitors to verify "
        "who they are. No login needed; limited per link and per client address.",
    )
    async def request_public_link_code(
        self, info: Info, input: RequestPublicLinkCodeInput
    ) -> RequestPublicLinkCodePayload:
        async def action() -> dict:
            masked = await public_links.request_code(
                input.token, CodeChannelValue(input.channel.value), info.context.client
            )
            return {"masked_destination": masked}

        return await payload_or_errors(RequestPublicLinkCodePayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Confirms a code: a correct one gives a visit token. A code allows 5 tries, "
        "then a new one must be requested. No login needed.",
    )
    async def verify_public_link_code(
        self, info: Info, input: VerifyPublicLinkCodeInput
    ) -> VerifyPublicLinkCodePayload:
        async def action() -> dict:
            visit = await public_links.verify_code(input.token, input.code, info.context.client)
            return {"visit_token": visit}

        return await payload_or_errors(VerifyPublicLinkCodePayload, action)

    @strawberry.mutation(
        permission_classes=[Anyone],
        description="Pays the link's invoice or retainer invoice by card or bank account, with "
        "or without identity verification. No login needed. A failed payment is returned with "
        "PAYMENT_DECLINED or PAYMENT_NOT_COMPLETED, as in payInvoices.",
    )
    async def pay_public_document(
        self, info: Info, input: PayPublicDocumentInput
    ) -> PayPublicDocumentPayload:
        paid: list[PaymentRow] = []

        async def action() -> dict:
            row = await public_links.pay_by_link(
                input.token, input.idempotency_key, input.amount, input.payment_token,
                info.context.client,
            )  # fmt: skip
            paid.append(row)
            amount = Money.of(row.amount_minor, row.currency)
            return {"payment": PublicPayment(number=row.number, status=row.status, amount=amount)}

        payload = await payload_or_errors(PayPublicDocumentPayload, action)
        if paid and paid[0].status == PaymentStatusValue.FAILED:
            code = (
                ErrorCode.PAYMENT_DECLINED if paid[0].declined else ErrorCode.PAYMENT_NOT_COMPLETED
            )
            payload.errors.append(UserError(field=None, message=paid[0].failure_reason, code=code))
        return payload
