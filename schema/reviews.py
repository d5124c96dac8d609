from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

import strawberry
from tortoise.expressions import Q

from models.reviews import Review as ReviewRow
from models.reviews import ReviewRequest as ReviewRequestRow
from resolvers import reviews
from resolvers.pagination import Ordering
from resolvers.reviews import Period
from schema.context import Info
from schema.customers import ContactPerson, Customer
from schema.edge import LONG_TEXT_LENGTH, limited
from schema.errors import UserError, payload_or_errors
from schema.payments import Payment
from schema.permissions import (
    STAFF_ONLY,
    IsAuthenticated,
    IsContact,
    IsStaff,
    IsStaffOrPartner,
)
from schema.relay import Connection, ModelNode, connection, decode_id
from schema.staff import StaffUser

NEWEST_FIRST = Ordering("created_at", descending=True)


class ShownWhileReviewsOn:
    """Portal contacts find none of these while the portal takes no reviews (mix in before
    ModelNode): the review option is hidden, not refused."""

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ModelNode | None]:
        node_ids = list(node_ids)
        if not await reviews.shown_to(info.context.principal):
            return [None for _ in node_ids]
        return await super().resolve_nodes(  # type: ignore[misc]
            info=info, node_ids=node_ids, required=required
        )


@strawberry.type(description="A customer's rating of the business, answering one request.")
class Review(ShownWhileReviewsOn, ModelNode):
    model = ReviewRow

    id: strawberry.relay.NodeID[int]
    rating: int = strawberry.field(description="1 (poor) to 5 (excellent).")
    comment: str
    contact_name: str = strawberry.field(description="Who wrote it, as named when it was written.")
    created_at: datetime
    _row: strawberry.Private[ReviewRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="Null once the contact person has been removed.")
    async def contact(self, info: Info) -> ContactPerson | None:
        return await ContactPerson.load(info, self._row.contact_id)

    @strawberry.field
    async def request(self, info: Info) -> ReviewRequest | None:
        return await ReviewRequest.load(info, self._row.request_id)

    @classmethod
    def from_row(cls, row: ReviewRow) -> Review:
        return cls(
            id=row.id,
            rating=row.rating,
            comment=row.comment,
            contact_name=row.contact_name,
            created_at=row.created_at,
            _row=row,
        )


@strawberry.type(
    description="Staff asked a customer to review the business; one review answers it."
)
class ReviewRequest(ShownWhileReviewsOn, ModelNode):
    model = ReviewRequestRow

    id: strawberry.relay.NodeID[int]
    created_at: datetime
    _row: strawberry.Private[ReviewRequestRow]

    @strawberry.field
    async def customer(self, info: Info) -> Customer:
        return await Customer.load(info, self._row.customer_id)

    @strawberry.field(description="Whether a contact person of the customer has answered it.")
    async def answered(self, info: Info) -> bool:
        return await self._answer(info) is not None

    @strawberry.field(description="The answer; null while the request is open.")
    async def review(self, info: Info) -> Review | None:
        row = await self._answer(info)
        return Review.from_row(row) if row is not None else None

    @strawberry.field(description="The payment it was sent with, if any.")
    async def payment(self, info: Info) -> Payment | None:
        return await Payment.load(info, self._row.payment_id)

    @strawberry.field(
        permission_classes=[IsStaff],
        description="Internal: the staff user who asked; staff only.",
    )
    async def requested_by(self, info: Info) -> StaffUser | None:
        return await StaffUser.load(info, self._row.requested_by_id)

    async def _answer(self, info: Info) -> ReviewRow | None:
        principal = info.context.principal
        loader = info.context.loaders.keyed(
            ("review answers",), lambda ids: reviews.answers_of(principal, ids)
        )
        return await loader.load(self._row.id)

    @classmethod
    def from_row(cls, row: ReviewRequestRow) -> ReviewRequest:
        return cls(id=row.id, created_at=row.created_at, _row=row)


@strawberry.input
class ReviewRequestFilter:
    customer_id: strawberry.ID | None = None
    answered: bool | None = strawberry.field(
        default=None, description="false: the open requests a contact may still answer."
    )


def _where(filter: ReviewRequestFilter | None) -> Q:
    query = Q()
    if filter is None:
        return query
    if filter.customer_id:
        query &= Q(customer_id=decode_id(filter.customer_id, Customer))
    if filter.answered is not None:
        query &= Q(review__id__isnull=not filter.answered)
    return query


@strawberry.type(description="How many reviews gave one rating.")
class RatingCount:
    rating: int
    count: int


@strawberry.type(description=f"The reviews received in a period. {STAFF_ONLY}")
class ReviewReport:
    start: date = strawberry.field(name="from")
    end: date = strawberry.field(name="to")
    count: int = strawberry.field(description="Reviews received in the period.")
    average_rating: Decimal | None = strawberry.field(
        description="Mean rating, rounded half up to 2 decimal places; null without reviews."
    )
    counts_by_rating: list[RatingCount] = strawberry.field(
        description="Every rating from 1 to 5, in that order, with how many gave it."
    )
    _period: strawberry.Private[Period]

    @strawberry.field(description="The reviews, newest first.")
    async def reviews(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Review]:
        where = Q(created_at__gte=self._period.since, created_at__lt=self._period.until)
        return await connection(
            info, Review, where=where, order_by=NEWEST_FIRST, first=first, after=after
        )


@strawberry.type
class ReviewQueries:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Review requests, newest first: staff see all, partner keys need "
        "reviews:read, a portal contact sees its customer's while the portal takes reviews "
        "(none otherwise).",
    )
    async def review_requests(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        filter: ReviewRequestFilter | None = None,
    ) -> Connection[ReviewRequest]:
        where = _where(filter)
        if not await reviews.shown_to(info.context.principal):
            where &= Q(id=0)  # ids start at 1: the review option is hidden
        return await connection(
            info, ReviewRequest, where=where, order_by=NEWEST_FIRST, first=first, after=after
        )

    @strawberry.field(
        permission_classes=[IsStaffOrPartner],
        description="Customer reviews received from `from` to `to`, whole days in the "
        "organization's time zone (inclusive, at most 366 days): the reviews, their number, "
        f"average rating and count per rating. Partner keys need reviews:read. {STAFF_ONLY}",
    )
    async def review_report(
        self,
        info: Info,
        start: Annotated[date, strawberry.argument(name="from")],
        end: Annotated[date, strawberry.argument(name="to")],
    ) -> ReviewReport:
        principal = info.context.principal
        period = await reviews.report_period(principal, start, end)
        figures = await reviews.figures(reviews.reviews_in(principal, period))
        return ReviewReport(
            start=start,
            end=end,
            count=figures.count,
            average_rating=figures.average,
            counts_by_rating=[
                RatingCount(rating=rating, count=count)
                for rating, count in figures.by_rating.items()
            ],
            _period=period,
        )


@strawberry.input
class RequestReviewInput:
    customer_id: strawberry.ID


@strawberry.type
class RequestReviewPayload:
    review_request: ReviewRequest | None = None
    errors: list[UserError]


@strawberry.input
class SubmitReviewInput:
    request_id: strawberry.ID
    rating: int = strawberry.field(description="1 (poor) to 5 (excellent).")
    comment: str = limited(LONG_TEXT_LENGTH, default="", description="At most 2000 characters.")


@strawberry.type
class SubmitReviewPayload:
    review: Review | None = None
    errors: list[UserError]


@strawberry.type
class ReviewMutations:
    @strawberry.mutation(
        permission_classes=[IsStaff],
        description="Asks a customer for a review while the portal takes reviews: the "
        "customer's contact persons with portal access get the review request email. "
        "ALREADY_REQUESTED while an earlier request is unanswered and less than 7 days old.",
    )
    async def request_review(self, info: Info, input: RequestReviewInput) -> RequestReviewPayload:
        async def action() -> dict:
            row = await reviews.request_review(
                info.context.staff, decode_id(input.customer_id, Customer)
            )
            return {"review_request": ReviewRequest.from_row(row)}

        return await payload_or_errors(RequestReviewPayload, action)

    @strawberry.mutation(
        permission_classes=[IsContact],
        description="Answers a review request of the contact's customer with a rating and "
        "an optional comment; each request is answered once (ALREADY_ANSWERED).",
    )
    async def submit_review(self, info: Info, input: SubmitReviewInput) -> SubmitReviewPayload:
        async def action() -> dict:
            row = await reviews.submit_review(
                info.context.contact,
                decode_id(input.request_id, ReviewRequest),
                input.rating,
                input.comment,
            )
            return {"review": Review.from_row(row)}

        return await payload_or_errors(SubmitReviewPayload, action)
