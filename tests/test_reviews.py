"""Customer reviews: staff ask (alone or with a recorded payment), contacts answer each request
once, the organization may rewrite the request email, and the report sums the reviews up."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from auth.api_keys import ApiScope, issue_api_key
from models.activity import Activity, ActivityKind, Notification
from models.customers import ContactPerson, Customer, PortalAccess
from models.documents import SalesDocument
from models.organizations import Organization
from models.outbox import OutboxMessage
from models.payments import Payment
from models.reviews import EmailTemplate, Review, ReviewRequest
from tests.conftest import World, email_body, error_codes, gid, gql
from tests.test_payments import issued

REQUEST = """mutation($c: ID!) { requestReview(input: {customerId: $c}) {
  reviewRequest { id answered customer { displayName } requestedBy { email } }
  errors { code field } } }"""
SUBMIT = """mutation($r: ID!, $rating: Int!, $comment: String!) {
  submitReview(input: {requestId: $r, rating: $rating, comment: $comment}) {
    review { rating comment contactName request { answered } } errors { code field } } }"""
LIST = """query($filter: ReviewRequestFilter) { reviewRequests(filter: $filter) {
  totalCount nodes { id answered review { rating } } } }"""
NODE = "query($id: ID!) { node(id: $id) { ... on ReviewRequest { answered } } }"
TEMPLATE = """{ emailTemplate(name: REVIEW_REQUEST) { name subject body customized
  placeholders { name token } } }"""
UPDATE_TEMPLATE = """mutation($subject: String!, $body: String!) {
  updateEmailTemplate(input: {name: REVIEW_REQUEST, subject: $subject, body: $body}) {
    emailTemplate { subject body customized } errors { code field message } } }"""
RESET_TEMPLATE = """mutation { resetEmailTemplate(input: {name: REVIEW_REQUEST}) {
  emailTemplate { customized subject } errors { code } } }"""
REPORT = """query($from: Date!, $to: Date!, $first: Int) { reviewReport(from: $from, to: $to) {
  count averageRating countsByRating { rating count }
  reviews(first: $first) { totalCount nodes { rating comment contactName createdAt
    customer { displayName } } } } }"""
RECORD = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { number } errors { code field } } }"""


async def reviews_on(client, world: World, on: bool = True, admin: str = "admin") -> None:
    body = await gql(
        client,
        "mutation($on: Boolean!) { updatePortalPreferences(input: {customerReviews: $on}) "
        "{ errors { code } } }",
        {"on": on},
        token=world.tokens[admin],
    )
    assert body["data"]["updatePortalPreferences"]["errors"] == []


async def request(client, world: World, customer: Customer | None = None) -> dict:
    customer_id = gid("Customer", customer or world.customer_a)
    body = await gql(client, REQUEST, {"c": customer_id}, token=world.tokens["staff"])
    assert "errors" not in body, body
    return body["data"]["requestReview"]


async def submit(
    client, world: World, request_id: str, rating: int = 4, comment: str = "",
    contact: str = "contact_a",
) -> dict:  # fmt: skip
    variables = {"r": request_id, "rating": rating, "comment": comment}
    body = await gql(client, SUBMIT, variables, token=world.tokens[contact])
    assert "errors" not in body, body
    return body["data"]["submitReview"]


async def listed(client, world: World, principal: str, **filter) -> dict:
    body = await gql(client, LIST, {"filter": filter or None}, token=world.tokens[principal])
    assert "errors" not in body, body
    return body["data"]["reviewRequests"]


async def emails() -> list[OutboxMessage]:
    return await OutboxMessage.filter(template="review_request").order_by("id")


# Asking


async def test_asking_needs_the_preference_and_emails_the_portal_contacts(
    client, world: World
) -> None:
    off = await request(client, world)
    assert off == {"reviewRequest": None, "errors": [{"code": "REVIEWS_OFF", "field": None}]}
    assert await ReviewRequest.all().count() == 0
    assert await emails() == []

    await reviews_on(client, world)
    second = await ContactPerson.create(
        organization=world.org_a, customer=world.customer_a, first_name="Zoe",
        email="zoe@acorn.example", portal_access=PortalAccess.ACTIVE,
    )  # fmt: skip
    for email, access in (("ivy@acorn.example", PortalAccess.INVITED),
                          ("dan@acorn.example", PortalAccess.DISABLED)):  # fmt: skip
        await ContactPerson.create(
            organization=world.org_a, customer=world.customer_a, email=email, portal_access=access
        )
    result = await request(client, world)
    assert result["errors"] == []
    assert result["reviewRequest"]["answered"] is False
    assert result["reviewRequest"]["customer"] == {"displayName": "Acorn Ltd"}
    assert result["reviewRequest"]["requestedBy"] == {"email": "staff@alpha.example"}
    sent = await emails()
    assert [m.to_address for m in sent] == ["ann@acorn.example", second.email]
    first = sent[0]
    assert first.subject == "Alpha Trading would like to hear what you think"
    body = email_body(first)
    assert "Hello Acorn Contact," in body.text
    assert "http://127.0.0.1:8000/portal/alpha/review" in body.text
    assert 'href="http://127.0.0.1:8000/portal/alpha/review"' in body.html
    assert "Hello Zoe," in email_body(sent[1]).text
    [recorded] = await Activity.filter(kind=ActivityKind.REVIEW_REQUESTED)
    assert (recorded.customer_id, recorded.actor_staff_id) == (world.customer_a.id, world.staff.id)


async def test_the_request_is_in_the_customers_portal_language(client, world: World) -> None:
    await reviews_on(client, world)
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    await Customer.filter(id=world.customer_b.id).update(portal_language="es")
    await request(client, world)
    await request(client, world, world.customer_b)
    german, spanish = await emails()
    assert german.subject == "Alpha Trading möchte wissen, wie zufrieden Sie sind"
    in_german = email_body(german)
    assert "Hallo Acorn Contact," in in_german.text
    assert 'lang="de"' in in_german.html and "Bewertung abgeben" in in_german.html
    assert spanish.subject == "Alpha Trading quiere conocer su opinión"
    assert "Hola, Birch Contact:" in email_body(spanish).text


async def test_a_customer_without_portal_contacts_cannot_be_asked(client, world: World) -> None:
    await reviews_on(client, world)
    await ContactPerson.filter(customer_id=world.customer_a.id).update(
        portal_access=PortalAccess.DISABLED
    )
    result = await request(client, world)
    assert result["errors"] == [{"code": "NO_PORTAL_CONTACT", "field": ["customerId"]}]
    other_org = await request(client, world, world.customer_other_org)
    assert other_org["errors"] == [{"code": "NOT_FOUND", "field": ["customerId"]}]
    assert await ReviewRequest.all().count() == 0


async def test_an_open_request_is_not_repeated_within_a_week(client, world: World) -> None:
    await reviews_on(client, world)
    first = await request(client, world)
    again = await request(client, world)
    assert again["errors"] == [{"code": "ALREADY_REQUESTED", "field": ["customerId"]}]
    assert (await request(client, world, world.customer_b))["errors"] == []
    # A week later the customer may be reminded.
    await ReviewRequest.all().update(created_at=datetime.now(UTC) - timedelta(days=7, seconds=1))
    assert (await request(client, world))["errors"] == []
    # Only answered requests stop counting, however recent.
    await ReviewRequest.all().update(created_at=datetime.now(UTC))
    newest, oldest = (await listed(client, world, "contact_a"))["nodes"]
    assert oldest["id"] == first["reviewRequest"]["id"]
    await submit(client, world, newest["id"])
    assert (await request(client, world))["errors"][0]["code"] == "ALREADY_REQUESTED"
    await submit(client, world, oldest["id"])
    assert (await request(client, world))["errors"] == []
    assert await ReviewRequest.filter(customer_id=world.customer_a.id).count() == 3
    assert len(await emails()) == 4


async def test_requests_made_at_once_make_one(client, world: World) -> None:
    await reviews_on(client, world)
    variables = {"c": gid("Customer", world.customer_a)}
    bodies = await asyncio.gather(
        *(gql(client, REQUEST, variables, token=world.tokens[t]) for t in ("staff", "admin") * 3)
    )
    codes = sorted(
        (b["data"]["requestReview"]["errors"] or [{"code": "OK"}])[0]["code"] for b in bodies
    )
    assert codes == ["ALREADY_REQUESTED"] * 5 + ["OK"]
    assert await ReviewRequest.all().count() == 1
    assert len(await emails()) == 1


# Asking with a recorded payment


async def test_recording_a_payment_can_ask_for_a_review(client, world: World) -> None:
    invoice = await issued(client, world)

    async def record(**more) -> dict:
        payment_input = {
            "customerId": gid("Customer", world.customer_a),
            "mode": "CASH",
            "allocations": [{"documentId": invoice["id"], "amount": "10"}],
            "requestReview": True,
            **more,
        }
        body = await gql(client, RECORD, {"input": payment_input}, token=world.tokens["staff"])
        return body["data"]["recordPayment"]

    off = await record()
    assert off == {"payment": None, "errors": [{"code": "REVIEWS_OFF", "field": ["requestReview"]}]}
    assert await Payment.all().count() == 0
    assert (await SalesDocument.get(number=invoice["number"])).balance_minor == 10000

    await reviews_on(client, world)
    paid = await record()
    assert paid["errors"] == []
    request_row = await ReviewRequest.get()
    assert (await Payment.get(id=request_row.payment_id)).number == paid["payment"]["number"]
    assert len(await emails()) == 1
    payment_of_request = """{ reviewRequests { nodes { payment { number amount { amount } } } } }"""
    body = await gql(client, payment_of_request, token=world.tokens["contact_a"])
    assert body["data"]["reviewRequests"]["nodes"] == [
        {"payment": {"number": paid["payment"]["number"], "amount": {"amount": "10.00"}}}
    ]

    # The request cannot be made again so soon, so the payment is not recorded either.
    refused = await record()
    assert refused["errors"] == [{"code": "ALREADY_REQUESTED", "field": ["requestReview"]}]
    assert await Payment.all().count() == 1
    assert (await SalesDocument.get(number=invoice["number"])).balance_minor == 9000
    without = await record(requestReview=False)
    assert without["errors"] == [] and await ReviewRequest.all().count() == 1


# The organization's own wording


CUSTOM_SUBJECT = "{{ customer_name }}, how was {{organization_name}}?"
CUSTOM_BODY = (
    "Dear {{ contact_name }},\n"
    "thanks for <b>shopping</b> & more.\n\n"
    "Tell us at {{ review_link }}\r\n"
    "Literal: {{ 7*7 }} {% if True %}yes{% endif %} {{ self.__init__.__globals__ }}"
)


async def test_a_rewritten_request_is_sent_as_written(client, world: World) -> None:
    await reviews_on(client, world)
    saved = await gql(client, UPDATE_TEMPLATE, {"subject": CUSTOM_SUBJECT, "body": CUSTOM_BODY},
                      token=world.tokens["admin"])  # fmt: skip
    assert saved["data"]["updateEmailTemplate"]["errors"] == []
    assert saved["data"]["updateEmailTemplate"]["emailTemplate"]["customized"] is True
    await ContactPerson.filter(id=world.contact_a.id).update(first_name="<script>Ann</script>")
    await Customer.filter(id=world.customer_a.id).update(
        portal_language="de", display_name="Acorn & Sons"
    )
    await request(client, world)
    [sent] = await emails()
    assert sent.subject == "Acorn & Sons, how was Alpha Trading?"
    assert email_body(sent).text == (
        "Dear <script>Ann</script> Contact,\n"
        "thanks for <b>shopping</b> & more.\n\n"
        "Tell us at http://127.0.0.1:8000/portal/alpha/review\n"
        "Literal: {{ 7*7 }} {% if True %}yes{% endif %} {{ self.__init__.__globals__ }}\n"
    )
    html = email_body(sent).html
    assert "<script>" not in html and "<b>" not in html and "49" not in html
    assert (
        '<p style="margin:0 0 16px;">Dear &lt;script&gt;Ann&lt;/script&gt; Contact,<br>\n' in html
    )
    assert "thanks for &lt;b&gt;shopping&lt;/b&gt; &amp; more.</p>" in html
    link = "http://127.0.0.1:8000/portal/alpha/review"
    assert f'Tell us at <a href="{link}">{link}</a><br>' in html
    assert (
        "Literal: {{ 7*7 }} {% if True %}yes{% endif %} {{ self.__init__.__globals__ }}</p>" in html
    )
    assert "<title>Acorn &amp; Sons, how was Alpha Trading?</title>" in html


async def test_wording_is_checked_before_it_is_saved(client, world: World) -> None:
    cases = [
        ("Hi {{ discount }}", "{{ review_link }}", [("UNKNOWN_PLACEHOLDER", ["subject"])]),
        ("Hi", "{{ review_link }} {{contact}}", [("UNKNOWN_PLACEHOLDER", ["body"])]),
        ("Hi", "No link here.", [("MISSING_PLACEHOLDER", ["body"])]),
        ("", "", [("REQUIRED", ["subject"]), ("REQUIRED", ["body"])]),
        ("x" * 201, "{{ review_link }}" + "x" * 10_000,
         [("TOO_LONG", ["subject"]), ("TOO_LONG", ["body"])]),
        ("Two\nlines", "{{ review_link }}", [("INVALID", ["subject"])]),
    ]  # fmt: skip
    for subject, body, expected in cases:
        answer = await gql(client, UPDATE_TEMPLATE, {"subject": subject, "body": body},
                           token=world.tokens["admin"])  # fmt: skip
        errors = answer["data"]["updateEmailTemplate"]["errors"]
        assert [(e["code"], e["field"]) for e in errors] == expected, subject
    answer = await gql(client, UPDATE_TEMPLATE, {"subject": "{{ nope }}", "body": "x"},
                       token=world.tokens["admin"])  # fmt: skip
    message = answer["data"]["updateEmailTemplate"]["errors"][0]["message"]
    assert "{{ nope }}" in message and "{{ review_link }}" in message
    assert await EmailTemplate.all().count() == 0
    staff = await gql(client, UPDATE_TEMPLATE, {"subject": "Hi", "body": "{{ review_link }}"},
                      token=world.tokens["staff"])  # fmt: skip
    assert error_codes(staff) == ["FORBIDDEN"]


async def test_the_built_in_wording_is_shown_until_rewritten_and_after_a_reset(
    client, world: World
) -> None:
    await reviews_on(client, world)
    built_in = (await gql(client, TEMPLATE, token=world.tokens["staff"]))["data"]["emailTemplate"]
    assert built_in["customized"] is False
    assert built_in["subject"] == "{{ organization_name }} would like to hear what you think"
    assert built_in["body"].startswith("Hello {{ contact_name }},\n\n")
    assert "\n{{ review_link }}\n" in built_in["body"]
    assert [p["token"] for p in built_in["placeholders"]] == [
        "{{ contact_name }}", "{{ customer_name }}", "{{ organization_name }}",
        "{{ review_link }}",
    ]  # fmt: skip
    await Organization.filter(id=world.org_a.id).update(locale="de-DE")
    german = (await gql(client, TEMPLATE, token=world.tokens["admin"]))["data"]["emailTemplate"]
    assert german["subject"] == "{{ organization_name }} möchte wissen, wie zufrieden Sie sind"

    # The built-in wording saved unchanged sends the same email, without translation.
    await gql(client, UPDATE_TEMPLATE, {"subject": built_in["subject"], "body": built_in["body"]},
              token=world.tokens["admin"])  # fmt: skip
    shown = (await gql(client, TEMPLATE, token=world.tokens["staff"]))["data"]["emailTemplate"]
    assert (shown["customized"], shown["body"]) == (True, built_in["body"])
    await request(client, world)
    reset = await gql(client, RESET_TEMPLATE, token=world.tokens["admin"])
    assert reset["data"]["resetEmailTemplate"]["emailTemplate"]["customized"] is False
    assert await EmailTemplate.all().count() == 0
    await request(client, world, world.customer_b)
    written, translated = await emails()
    assert written.subject == "Alpha Trading would like to hear what you think"
    assert email_body(written).text.startswith("Hello Acorn Contact,\n\n")
    assert translated.subject == "Alpha Trading would like to hear what you think"


# Answering


async def test_a_contact_answers_its_customers_request_once(client, world: World) -> None:
    await reviews_on(client, world)
    await reviews_on(client, world, admin="staff_other_org")
    made = await request(client, world)
    request_id = made["reviewRequest"]["id"]
    mine = await listed(client, world, "contact_a", answered=False)
    assert mine == {"totalCount": 1, "nodes": [{"id": request_id, "answered": False,
                                                "review": None}]}  # fmt: skip
    for outsider in ("contact_b", "contact_other_org"):
        assert (await listed(client, world, outsider))["totalCount"] == 0
        node = await gql(client, NODE, {"id": request_id}, token=world.tokens[outsider])
        assert node["data"]["node"] is None
        refused = await submit(client, world, request_id, contact=outsider)
        assert refused["errors"] == [{"code": "NOT_FOUND", "field": ["requestId"]}]

    answer = await submit(client, world, request_id, rating=5, comment="  Quick and kind.  ")
    assert answer == {
        "review": {"rating": 5, "comment": "Quick and kind.", "contactName": "Acorn Contact",
                   "request": {"answered": True}},
        "errors": [],
    }  # fmt: skip
    again = await submit(client, world, request_id, rating=1)
    assert again["errors"] == [{"code": "ALREADY_ANSWERED", "field": None}]
    assert (await listed(client, world, "contact_a", answered=False))["totalCount"] == 0
    answered = await listed(client, world, "staff", answered=True)
    assert answered["nodes"][0]["review"] == {"rating": 5}
    [submitted] = await Activity.filter(kind=ActivityKind.REVIEW_SUBMITTED)
    assert submitted.actor_contact_id == world.contact_a.id
    assert submitted.data == {"rating": 5}
    notified = await Notification.filter(activity_id=submitted.id).count()
    assert notified == 2  # both staff users of the organization


@pytest.mark.parametrize(
    ("rating", "comment", "expected"),
    [
        (0, "", [("INVALID", ["rating"])]),
        (6, "", [("INVALID", ["rating"])]),
        (-1, "x" * 2001, [("INVALID", ["rating"]), ("TOO_LONG", ["comment"])]),
        (3, "bad\x07byte", [("INVALID", ["comment"])]),  # a NUL never gets here: test_edges
    ],
)
async def test_bad_ratings_and_comments_store_nothing(
    client, world: World, rating: int, comment: str, expected: list
) -> None:
    await reviews_on(client, world)
    made = await request(client, world)
    result = await submit(client, world, made["reviewRequest"]["id"], rating, comment)
    assert [(e["code"], e["field"]) for e in result["errors"]] == expected
    assert await Review.all().count() == 0
    assert await Activity.filter(kind=ActivityKind.REVIEW_SUBMITTED).count() == 0


async def test_while_reviews_are_off_contacts_see_and_answer_nothing(client, world: World) -> None:
    await reviews_on(client, world)
    request_id = (await request(client, world))["reviewRequest"]["id"]
    await reviews_on(client, world, False)
    assert (await listed(client, world, "contact_a"))["totalCount"] == 0
    node = await gql(client, NODE, {"id": request_id}, token=world.tokens["contact_a"])
    assert node["data"]["node"] is None
    refused = await submit(client, world, request_id)
    assert refused["errors"] == [{"code": "REVIEWS_OFF", "field": None}]
    assert await Review.all().count() == 0
    assert (await listed(client, world, "staff"))["totalCount"] == 1
    await reviews_on(client, world)
    assert (await submit(client, world, request_id))["errors"] == []


async def test_concurrent_answers_store_exactly_one_review(client, world: World) -> None:
    await reviews_on(client, world)
    request_id = (await request(client, world))["reviewRequest"]["id"]
    answers = await asyncio.gather(
        *(submit(client, world, request_id, rating=rating) for rating in (1, 2, 3, 4))
    )
    codes = sorted((a["errors"] or [{"code": "OK"}])[0]["code"] for a in answers)
    assert codes == ["ALREADY_ANSWERED"] * 3 + ["OK"]
    [review] = await Review.all()
    [winner] = [a for a in answers if not a["errors"]]
    assert review.rating == winner["review"]["rating"]
    assert await Activity.filter(kind=ActivityKind.REVIEW_SUBMITTED).count() == 1


# The report


async def reviewed(world: World, rating: int, at: datetime, customer: Customer | None = None):
    customer = customer or world.customer_a
    contact = world.contact_a if customer == world.customer_a else world.contact_b
    asked = await ReviewRequest.create(organization=world.org_a, customer=customer)
    review = await Review.create(
        organization=world.org_a, customer=customer, request=asked, rating=rating,
        comment=f"rated {rating}", contact=contact,
        contact_name=f"{customer.display_name} person",
    )  # fmt: skip
    await Review.filter(id=review.id).update(created_at=at)
    return review


async def report(client, world: World, start: str, end: str, first: int | None = None) -> dict:
    variables = {"from": start, "to": end, "first": first}
    return await gql(client, REPORT, variables, token=world.tokens["staff"])


async def test_the_report_counts_whole_days_in_the_organizations_time_zone(
    client, world: World
) -> None:
    await Organization.filter(id=world.org_a.id).update(timezone="America/New_York")
    utc = UTC
    # March 2026 in New York: EST (UTC-5) until the 8th, then EDT (UTC-4).
    await reviewed(world, 1, datetime(2026, 3, 1, 4, 59, 59, tzinfo=utc))  # Feb 28 local
    await reviewed(world, 5, datetime(2026, 3, 1, 5, 0, tzinfo=utc))  # Mar 1, 00:00 local
    await reviewed(world, 4, datetime(2026, 3, 15, 12, 0, tzinfo=utc), world.customer_b)
    await reviewed(world, 4, datetime(2026, 4, 1, 3, 59, 59, tzinfo=utc))  # Mar 31, 23:59 local
    await reviewed(world, 2, datetime(2026, 4, 1, 4, 0, tzinfo=utc))  # Apr 1 local
    body = await report(client, world, "2026-03-01", "2026-03-31")
    data = body["data"]["reviewReport"]
    assert data["count"] == 3
    assert data["averageRating"] == "4.33"
    assert data["countsByRating"] == [
        {"rating": 1, "count": 0}, {"rating": 2, "count": 0}, {"rating": 3, "count": 0},
        {"rating": 4, "count": 2}, {"rating": 5, "count": 1},
    ]  # fmt: skip
    nodes = data["reviews"]["nodes"]
    assert data["reviews"]["totalCount"] == 3
    assert [n["rating"] for n in nodes] == [4, 4, 5]  # newest first
    assert nodes[0]["createdAt"].startswith("2026-04-01T03:59:59")
    assert nodes[1]["customer"] == {"displayName": "Birch Inc"}
    assert nodes[1]["contactName"] == "Birch Inc person"

    one_day = (await report(client, world, "2026-02-28", "2026-02-28"))["data"]["reviewReport"]
    assert (one_day["count"], one_day["averageRating"]) == (1, "1.00")
    empty = (await report(client, world, "2025-01-01", "2025-12-31"))["data"]["reviewReport"]
    assert (empty["count"], empty["averageRating"]) == (0, None)
    assert [c["count"] for c in empty["countsByRating"]] == [0, 0, 0, 0, 0]


async def test_the_average_rounds_half_up(client, world: World) -> None:
    day = datetime(2026, 5, 5, 12, tzinfo=UTC)
    for rating in (5, 5, 5, 5, 5, 5, 5, 4):  # 39 / 8 = 4.875
        await reviewed(world, rating, day)
    data = (await report(client, world, "2026-05-05", "2026-05-05"))["data"]["reviewReport"]
    assert data["averageRating"] == "4.88"


async def test_the_report_period_is_checked(client, world: World) -> None:
    backwards = await report(client, world, "2026-03-02", "2026-03-01")
    assert error_codes(backwards) == ["BAD_USER_INPUT"]
    too_long = await report(client, world, "2024-01-01", "2025-01-01")  # 367 days
    assert error_codes(too_long) == ["BAD_USER_INPUT"]
    leap_year = await report(client, world, "2024-01-01", "2024-12-31")  # 366 days
    assert leap_year["data"]["reviewReport"]["count"] == 0


async def test_report_query_count_does_not_grow_with_the_page(
    client, world: World, count_queries
) -> None:
    for index in range(12):
        customer = world.customer_a if index % 2 else world.customer_b
        await reviewed(world, 1 + index % 5, datetime(2026, 6, 1, index, tzinfo=UTC), customer)
    await gql(client, "{ __typename }")  # a process's first request reads the trusted registry
    counts = []
    for first in (1, 12):
        count_queries.reset()
        body = await report(client, world, "2026-06-01", "2026-06-01", first=first)
        assert len(body["data"]["reviewReport"]["reviews"]["nodes"]) == first
        counts.append(count_queries.count)
    assert counts[0] == counts[1]

    listing = """query($first: Int) { reviewRequests(first: $first) { nodes { answered
      customer { displayName } review { rating contact { email } } } } }"""
    counts = []
    for first in (1, 12):
        count_queries.reset()
        body = await gql(client, listing, {"first": first}, token=world.tokens["staff"])
        assert len(body["data"]["reviewRequests"]["nodes"]) == first
        counts.append(count_queries.count)
    assert counts[0] == counts[1]


async def test_who_may_read_the_report(client, world: World) -> None:
    await reviewed(world, 3, datetime(2026, 3, 3, 12, tzinfo=UTC))
    secret, _ = await issue_api_key(
        organization_id=world.org_a.id, name="Reviews", scopes=[ApiScope.REVIEWS_READ],
        created_by_id=world.admin.id,
    )  # fmt: skip
    figures = 'query { reviewReport(from: "2026-03-01", to: "2026-03-31") { count } }'
    for principal, expected in (
        ("staff", 1), ("admin", 1), ("staff_other_org", 0), (secret, 1),
        ("partner", "FORBIDDEN"), ("contact_a", "FORBIDDEN"), ("anonymous", "UNAUTHENTICATED"),
    ):  # fmt: skip
        token = None if principal == "anonymous" else world.tokens.get(principal, principal)
        body = await gql(client, figures, token=token)
        if isinstance(expected, str):
            assert error_codes(body) == [expected], principal
        else:
            assert body["data"]["reviewReport"]["count"] == expected, principal
    # A key with reviews:read alone reads reviews and requests, not the customers behind them.
    requests = await gql(client, "{ reviewRequests { totalCount nodes { answered } } }",
                         token=secret)  # fmt: skip
    assert requests["data"]["reviewRequests"] == {"totalCount": 1, "nodes": [{"answered": True}]}
    customer = await gql(client, "{ reviewRequests { nodes { customer { displayName } } } }",
                         token=secret)  # fmt: skip
    assert error_codes(customer) == ["FORBIDDEN"]
