"""Dates are the organization's: what is due, overdue or expired, and every date a change
gets by default, follow its calendar at any hour, in zones ahead of and behind UTC."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.api_keys import ApiKey
from models.organizations import Organization
from resolvers.calendars import Period, dates_of
from tests.conftest import World, gid, gql
from tests.test_documents import CREATE, SEND, invoice_input
from tests.test_reviews import REQUEST, SUBMIT, reviews_on

DAY = date(2026, 11, 25)  # the organization's today in every case below
ZONES = ("Pacific/Kiritimati", "Pacific/Pago_Pago", "America/Los_Angeles", "UTC")


def local(zone: str, at: time, day: date = DAY) -> datetime:
    return datetime.combine(day, at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def midnight_utc_within(zone: str) -> datetime:
    start = local(zone, time.min)
    return datetime.combine(start.date() + timedelta(days=1), time.min, tzinfo=UTC)


# At 23:30 and at 00:30 of DAY in each zone; the UTC date differs from DAY in many of them
# (at 00:30 in Kiritimati it is still the day before in UTC, at 23:30 in Pago Pago the next).
INSTANTS = [
    pytest.param(zone, marks=pytest.mark.clock(local(zone, at)), id=f"{zone}-{at:%H%M}")
    for zone in ZONES
    for at in (time(23, 30), time(0, 30))
]
# And on each side of the midnight UTC that falls within that day, where one does.
INSTANTS += [
    pytest.param(zone, marks=pytest.mark.clock(instant), id=f"{zone}-{instant:%d%H%MZ}")
    for zone in ZONES[:3]
    for instant in (midnight_utc_within(zone) + timedelta(minutes=m) for m in (-30, 30))
]

DOCUMENT = """mutation($input: CreateSalesDocumentInput!) { createSalesDocument(input: $input) {
  salesDocument { id issueDate } errors { code } } }"""
STATUS = """query($id: ID!) { salesDocument(id: $id) { status
  ... on Payable { isOverdue } ... on Quote { isExpired } } }"""
LISTED = """query($statuses: [DocumentStatus!]) { salesDocuments(filter: {statuses: $statuses}) {
  nodes { number status } } }"""
ANSWER = """mutation($id: ID!) { answerQuote(input: {id: $id, accept: true}) {
  quote { status } errors { code } } }"""
RECORD = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { paidOn } errors { code field } } }"""
PAY = """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
  payment { paidOn status } errors { code } } }"""
HOME = "{ portalHome { outstandingInvoices { amount } overdueInvoices { amount } } }"
STATEMENT = """query($period: StatementPeriod) { statementOfAccounts(period: $period) {
  from to } }"""
REPORT = """query($from: Date!, $to: Date!) { reviewReport(from: $from, to: $to) { count } }"""


def today_in(zone: str) -> date:
    return datetime.now(ZoneInfo(zone)).date()


async def in_zone(world: World, zone: str) -> None:
    await Organization.filter(id=world.org_a.id).update(timezone=zone)
    assert today_in(zone) == DAY  # the clock is where the case says


async def document(client, world: World, **fields) -> dict:
    body = await gql(client, CREATE, {"input": invoice_input(world, **fields)},
                     token=world.tokens["staff"])  # fmt: skip
    created = body["data"]["createSalesDocument"]["salesDocument"]
    await gql(client, SEND, {"id": created["id"]}, token=world.tokens["staff"])
    return created


async def status(client, world: World, document_id: str) -> dict:
    body = await gql(client, STATUS, {"id": document_id}, token=world.tokens["contact_a"])
    return body["data"]["salesDocument"]


@pytest.mark.parametrize("zone", INSTANTS)
async def test_invoices_turn_overdue_at_the_organizations_midnight(
    client, world: World, zone: str
) -> None:
    await in_zone(world, zone)
    late = await document(client, world, issueDate="2026-10-01", dueDate=str(DAY - timedelta(1)))
    due_today = await document(client, world, issueDate="2026-10-01", dueDate=str(DAY))
    assert await status(client, world, late["id"]) == {"status": "OVERDUE", "isOverdue": True}
    assert await status(client, world, due_today["id"]) == {"status": "SENT", "isOverdue": False}
    overdue = await gql(client, LISTED, {"statuses": ["OVERDUE"]}, token=world.tokens["staff"])
    assert [n["number"] for n in overdue["data"]["salesDocuments"]["nodes"]] == ["INV-000001"]
    sent = await gql(client, LISTED, {"statuses": ["SENT"]}, token=world.tokens["staff"])
    assert [n["number"] for n in sent["data"]["salesDocuments"]["nodes"]] == ["INV-000002"]
    home = (await gql(client, HOME, token=world.tokens["contact_a"]))["data"]["portalHome"]
    assert home == {"outstandingInvoices": [{"amount": "117.98"}],
                    "overdueInvoices": [{"amount": "58.99"}]}  # fmt: skip


@pytest.mark.parametrize("zone", INSTANTS)
async def test_quotes_expire_at_the_organizations_midnight(client, world: World, zone: str) -> None:
    await in_zone(world, zone)
    expired = await document(client, world, kind="QUOTE", issueDate="2026-10-01",
                             dueDate=str(DAY - timedelta(1)))  # fmt: skip
    last_day = await document(client, world, kind="QUOTE", issueDate="2026-10-01",
                              dueDate=str(DAY))  # fmt: skip
    assert await status(client, world, expired["id"]) == {"status": "EXPIRED", "isExpired": True}
    assert await status(client, world, last_day["id"]) == {"status": "SENT", "isExpired": False}
    refused = await gql(client, ANSWER, {"id": expired["id"]}, token=world.tokens["contact_a"])
    expected = {"quote": None, "errors": [{"code": "INVALID_TRANSITION"}]}
    assert refused["data"]["answerQuote"] == expected
    accepted = await gql(client, ANSWER, {"id": last_day["id"]}, token=world.tokens["contact_a"])
    assert accepted["data"]["answerQuote"] == {"quote": {"status": "ACCEPTED"}, "errors": []}
    listed = await gql(client, LISTED, {"statuses": ["EXPIRED"]}, token=world.tokens["staff"])
    assert [n["number"] for n in listed["data"]["salesDocuments"]["nodes"]] == ["QT-000001"]


@pytest.mark.parametrize("zone", INSTANTS)
async def test_changes_are_dated_the_organizations_today(client, world: World, zone: str) -> None:
    await in_zone(world, zone)
    fields = {"issueDate": None, "allowPartialPayments": True}
    body = await gql(client, DOCUMENT, {"input": invoice_input(world, **fields)},
                     token=world.tokens["staff"])  # fmt: skip
    created = body["data"]["createSalesDocument"]["salesDocument"]
    assert created["issueDate"] == str(DAY)
    await gql(client, SEND, {"id": created["id"]}, token=world.tokens["staff"])

    def recorded(**more) -> dict:
        return {"customerId": gid("Customer", world.customer_a), "mode": "CASH",
                "allocations": [{"documentId": created["id"], "amount": "10"}], **more}  # fmt: skip

    tomorrow = await gql(client, RECORD, {"input": recorded(paidOn=str(DAY + timedelta(1)))},
                         token=world.tokens["staff"])  # fmt: skip
    assert tomorrow["data"]["recordPayment"]["errors"] == [{"code": "INVALID", "field": ["paidOn"]}]
    today = await gql(client, RECORD, {"input": recorded(paidOn=str(DAY))},
                      token=world.tokens["staff"])  # fmt: skip
    assert today["data"]["recordPayment"]["payment"] == {"paidOn": str(DAY)}
    default = await gql(client, RECORD, {"input": recorded()}, token=world.tokens["staff"])
    assert default["data"]["recordPayment"]["payment"] == {"paidOn": str(DAY)}
    online = {"idempotencyKey": uuid.uuid4().hex, "token": "tok_visa",
              "allocations": [{"documentId": created["id"], "amount": "10"}]}  # fmt: skip
    paid = await gql(client, PAY, {"input": online}, token=world.tokens["contact_a"])
    assert paid["data"]["payInvoices"]["payment"] == {"paidOn": str(DAY), "status": "SUCCEEDED"}


@pytest.mark.parametrize("zone", INSTANTS)
async def test_statements_and_reports_cover_the_organizations_days(
    client, world: World, zone: str
) -> None:
    await in_zone(world, zone)
    statement = await gql(client, STATEMENT, token=world.tokens["contact_a"])
    assert statement["data"]["statementOfAccounts"] == {"from": "2026-11-01", "to": "2026-11-30"}
    last_month = await gql(client, STATEMENT, {"period": "LAST_MONTH"},
                           token=world.tokens["contact_a"])  # fmt: skip
    assert last_month["data"]["statementOfAccounts"] == {"from": "2026-10-01", "to": "2026-10-31"}

    await reviews_on(client, world)
    asked = await gql(client, REQUEST, {"c": gid("Customer", world.customer_a)},
                      token=world.tokens["staff"])  # fmt: skip
    request_id = asked["data"]["requestReview"]["reviewRequest"]["id"]
    answered = await gql(client, SUBMIT, {"r": request_id, "rating": 5, "comment": ""},
                         token=world.tokens["contact_a"])  # fmt: skip
    assert answered["data"]["submitReview"]["errors"] == []

    async def reviews_on_days(first: date, last: date) -> int:
        body = await gql(client, REPORT, {"from": str(first), "to": str(last)},
                         token=world.tokens["staff"])  # fmt: skip
        return body["data"]["reviewReport"]["count"]

    assert await reviews_on_days(DAY, DAY) == 1
    assert await reviews_on_days(DAY - timedelta(1), DAY - timedelta(1)) == 0
    assert await reviews_on_days(DAY + timedelta(1), DAY + timedelta(1)) == 0


async def test_a_statement_takes_a_period_or_both_dates(client, world: World) -> None:
    query = """query($period: StatementPeriod, $from: Date, $to: Date) {
      statementOfAccounts(period: $period, from: $from, to: $to) { from to } }"""
    for variables in ({"period": "THIS_YEAR", "from": "2026-01-01", "to": "2026-02-01"},
                      {"from": "2026-01-01"}, {"to": "2026-01-01"}):  # fmt: skip
        body = await gql(client, query, variables, token=world.tokens["contact_a"])
        assert body["data"] == {"statementOfAccounts": None}
        assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    chosen = await gql(client, query, {"from": "2026-01-01", "to": "2026-02-01"},
                       token=world.tokens["contact_a"])  # fmt: skip
    assert chosen["data"]["statementOfAccounts"] == {"from": "2026-01-01", "to": "2026-02-01"}


@pytest.mark.parametrize(
    ("period", "today", "expected"),
    [
        (Period.THIS_MONTH, date(2024, 2, 29), (date(2024, 2, 1), date(2024, 2, 29))),
        (Period.LAST_MONTH, date(2026, 1, 15), (date(2025, 12, 1), date(2025, 12, 31))),
        (Period.LAST_MONTH, date(2026, 3, 31), (date(2026, 2, 1), date(2026, 2, 28))),
        (Period.THIS_QUARTER, date(2026, 12, 31), (date(2026, 10, 1), date(2026, 12, 31))),
        (Period.LAST_QUARTER, date(2026, 2, 10), (date(2025, 10, 1), date(2025, 12, 31))),
        (Period.THIS_YEAR, date(2026, 6, 30), (date(2026, 1, 1), date(2026, 12, 31))),
        (Period.LAST_YEAR, date(2026, 1, 1), (date(2025, 1, 1), date(2025, 12, 31))),
    ],
)
def test_periods_are_whole_months_quarters_and_years(
    period: Period, today: date, expected: tuple[date, date]
) -> None:
    assert dates_of(period, today) == expected


@pytest.mark.parametrize("zone", INSTANTS)
async def test_api_keys_work_through_their_last_day(client, world: World, zone: str) -> None:
    await in_zone(world, zone)
    organization = await gql(client, "{ organization { today } }", token=world.tokens["admin"])
    assert organization["data"]["organization"] == {"today": str(DAY)}
    for last_day, works in ((DAY, True), (DAY - timedelta(days=1), False)):
        await ApiKey.filter(name="Sync").update(expires_on=last_day)
        body = await gql(client, "{ customers { totalCount } }", token=world.tokens["partner"])
        assert ("errors" not in body) is works, body
