"""Customer reviews: staff ask a customer for one (on its own or with a recorded payment), the
customer's portal contacts answer each request once with a rating and a comment, and the
review report sums them up. All of it only while the preference `customer_reviews` is on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from auth.errors import BadUserInput
from auth.principals import ContactPrincipal, Principal, StaffPrincipal, portal_customer_of
from auth.scoping import scoped
from models.activity import ActivityKind
from models.customers import ContactPerson, Customer, PortalAccess
from models.organizations import Organization
from models.payments import Payment
from models.reviews import Review, ReviewRequest
from resolvers import activity, calendars, email_templates, links, portal_features, transactions
from resolvers.customers import get_customer
from resolvers.email import enqueue_rendered
from resolvers.errors import ErrorCode, reject
from resolvers.validation import Checker

RATINGS = range(1, 6)
COMMENT_LIMIT = 2000
# An unanswered request this recent stops another one: a customer is asked at most once a week.
ASK_AGAIN_AFTER = timedelta(days=7)
MAX_REPORT_DAYS = 366
REVIEW_PAGE = "review"


async def reviews_on(organization_id: int) -> bool:
    return await portal_features.enabled(portal_features.REVIEWS, organization_id)


async def shown_to(principal: Principal) -> bool:
    """Portal contacts (and customer-scoped keys) see review requests and reviews only while
    the preference is on."""
    if portal_customer_of(principal) is not None:
        return await reviews_on(principal.organization_id)
    return True


async def request_review(principal: StaffPrincipal, customer_id: int) -> ReviewRequest:
    await require_on(principal.organization_id)
    customer = await get_customer(principal, customer_id, field="customerId")
    recipients = await recipients_for(customer, field=["customerId"])
    async with transactions.unit_of_work():
        return await send_request(principal, recipients, field=["customerId"])


async def require_on(organization_id: int, field: Sequence[str] | None = None) -> None:
    await portal_features.require(portal_features.REVIEWS, organization_id, field=field)


async def recipients_for(customer: Customer, *, field: Sequence[str]) -> list[ContactPerson]:
    """The contacts a request goes to: those who can log in to the portal."""
    contacts = await ContactPerson.filter(
        customer_id=customer.id, portal_access=PortalAccess.ACTIVE, email__not=""
    ).order_by("id")
    if not contacts:
        raise reject(
            ErrorCode.NO_PORTAL_CONTACT,
            "The customer has no contact person with portal access to ask.",
            field,
        )
    return contacts


async def send_request(
    principal: StaffPrincipal,
    recipients: list[ContactPerson],
    *,
    field: Sequence[str],
    payment: Payment | None = None,
) -> ReviewRequest:
    """Inside the caller's unit of work: the request, an email to each recipient, activity."""
    customer_id = recipients[0].customer_id
    # Serializes requests for one customer, so two at once cannot both pass the check below.
    customer = await Customer.select_for_update().get(id=customer_id)
    if await _recently_asked(customer_id):
        raise reject(
            ErrorCode.ALREADY_REQUESTED,
            "This customer was asked for a review less than a week ago and has not answered.",
            field,
        )
    request = await ReviewRequest.create(
        organization_id=principal.organization_id,
        customer_id=customer_id,
        requested_by_id=principal.user.id,
        payment=payment,
    )
    await _email(customer, recipients)
    activity.record(
        ActivityKind.REVIEW_REQUESTED,
        actor=principal,
        organization_id=principal.organization_id,
        customer_id=customer_id,
        document=("PAYMENT", payment.id, payment.number) if payment else ("", None, ""),
        data={"recipients": [contact.email for contact in recipients]},
    )
    return request


async def _recently_asked(customer_id: int) -> bool:
    since = datetime.now(UTC) - ASK_AGAIN_AFTER
    return await ReviewRequest.filter(
        customer_id=customer_id, created_at__gte=since, review__id__isnull=True
    ).exists()


async def _email(customer: Customer, recipients: list[ContactPerson]) -> None:
    organization = await Organization.get(id=customer.organization_id)
    template = email_templates.REVIEW_REQUEST
    saved = await email_templates.saved_wording(organization.id, template)
    review_link = f"{links.current().portal(organization.portal_name)}/{REVIEW_PAGE}"
    for contact in recipients:
        values = {
            "contact_name": contact.display_name,
            "customer_name": customer.display_name,
            "organization_name": organization.name,
            "review_link": review_link,
        }
        rendered = email_templates.render(
            template,
            saved,
            values=values,
            language=customer.portal_language,
            organization_name=organization.name,
        )
        await enqueue_rendered(
            to=contact.email,
            rendered=rendered,
            template=template.name,
            organization_id=organization.id,
            reply_to=organization.email,
        )


async def submit_review(
    principal: ContactPrincipal, request_id: int, rating: int, comment: str | None
) -> Review:
    await require_on(principal.organization_id)
    checker = Checker()
    if rating not in RATINGS:
        checker.add(ErrorCode.INVALID, "Rate from 1 to 5.", ["rating"])
    comment = checker.text(comment, ["comment"], max_length=COMMENT_LIMIT)
    checker.raise_if_any()
    request = await scoped(ReviewRequest, principal).get_or_none(id=request_id)
    if request is None:
        raise reject(ErrorCode.NOT_FOUND, "No such review request.", ["requestId"])
    answered = reject(ErrorCode.ALREADY_ANSWERED, "This request has been answered already.")
    if await Review.filter(request_id=request.id).exists():
        raise answered
    try:
        async with transactions.unit_of_work():
            review = await Review.create(
                organization_id=request.organization_id,
                customer_id=request.customer_id,
                request=request,
                contact_id=principal.contact.id,
                contact_name=principal.contact.display_name,
                rating=rating,
                comment=comment,
            )
            activity.record(
                ActivityKind.REVIEW_SUBMITTED,
                actor=principal,
                organization_id=request.organization_id,
                customer_id=request.customer_id,
                data={"rating": rating},
            )
    except IntegrityError as exc:  # another contact answered it a moment ago
        raise answered from exc
    return review


async def answers_of(principal: Principal, request_ids: Sequence[int]) -> list[Review | None]:
    """The review answering each request, for a DataLoader."""
    rows = await scoped(Review, principal).filter(request_id__in=list(request_ids))
    by_request = {row.request_id: row for row in rows}
    return [by_request.get(request_id) for request_id in request_ids]


@dataclass(frozen=True)
class Period:
    """A report's days, as the organization's calendar has them, in UTC."""

    since: datetime
    until: datetime  # exclusive


async def report_period(principal: Principal, start: date, end: date) -> Period:
    if start > end:
        raise BadUserInput("`from` is after `to`.")
    if (end - start).days >= MAX_REPORT_DAYS:
        raise BadUserInput(f"A report covers at most {MAX_REPORT_DAYS} days.")
    zone = await calendars.zone(principal.organization_id)
    return Period(*calendars.days_between(start, end, zone))


def reviews_in(principal: Principal, period: Period) -> QuerySet[Review]:
    return scoped(Review, principal).filter(
        created_at__gte=period.since, created_at__lt=period.until
    )


@dataclass(frozen=True)
class Figures:
    by_rating: dict[int, int]

    @property
    def count(self) -> int:
        return sum(self.by_rating.values())

    @property
    def average(self) -> Decimal | None:
        if not self.count:
            return None
        total = sum(rating * count for rating, count in self.by_rating.items())
        return (Decimal(total) / Decimal(self.count)).quantize(Decimal("0.01"), ROUND_HALF_UP)


async def figures(query: QuerySet[Review]) -> Figures:
    """How many reviews gave each rating, counted by the database in one grouped query."""
    rows = (
        await query.annotate(reviews=Count("id"))
        .group_by("rating")
        .values_list("rating", "reviews")
    )
    counted = {int(rating): int(count) for rating, count in rows}
    return Figures({rating: counted.get(rating, 0) for rating in RATINGS})
