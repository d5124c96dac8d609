"""Statement of accounts: a customer's ledger per currency, with running balances that
reconcile with the documents' own balances, and periods that open where the last one closed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from resolvers import statements
from tests.conftest import TODAY, World, error_codes, gid, gql
from tests.test_documents import SEND, create
from tests.test_online_payments import SETTLE, pay

STATEMENT = """query($c: ID, $from: Date!, $to: Date!) {
  statementOfAccounts(customerId: $c, from: $from, to: $to) {
    from to customer { displayName }
    currencies { currency openingBalance { amount } invoiced { amount } paid { amount }
      credited { amount } refunded { amount } closingBalance { amount } amountDue { amount }
      entries { date kind number description debit { amount } credit { amount }
        balance { amount } document { __typename number } payment { number } } } } }"""
RECORD = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
  payment { id } errors { code } } }"""
REFUND_PAYMENT = """mutation($input: RefundPaymentInput!) { refundPayment(input: $input) {
  errors { code } } }"""
APPLY_RETAINER = """mutation($p: ID!, $i: ID!, $amount: Decimal!) {
  applyRetainerPayment(input: {paymentId: $p, invoiceId: $i, amount: $amount}) {
  errors { code } } }"""
APPLY_CREDIT = """mutation($c: ID!, $i: ID!, $amount: Decimal!) {
  applyCredit(input: {creditNoteId: $c, invoiceId: $i, amount: $amount}) { errors { code } } }"""
REFUND_CREDIT = """mutation($input: RefundCreditInput!) { refundCredit(input: $input) {
  errors { code } } }"""
VOID = """mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }"""
CURRENCY = """mutation($id: ID!, $currency: String!) {
  updateCustomer(input: {id: $id, currency: $currency}) { errors { code } } }"""
HOME = """query($c: ID) { portalHome(customerId: $c) { outstandingInvoices { amount currency }
  availableCredits { amount currency } availableRetainerPayments { amount currency } } }"""

AUG, OCT_END = date(2026, 8, 1), date(2026, 10, 31)


class Staff:
    """Staff building a customer's ledger through the API, with documents backdated."""

    def __init__(self, client, world: World) -> None:
        self.client, self.world = client, world

    async def ask(self, query: str, **variables) -> dict:
        body = await gql(self.client, query, variables, token=self.world.tokens["staff"])
        assert "errors" not in body, body
        [result] = body["data"].values()
        assert result["errors"] == [], result
        return result

    async def document(self, kind: str, rate: str, on: str, send: bool = True, **more) -> str:
        lines = [{"name": "Work", "quantity": "1", "rate": rate}]
        document = await create(
            self.client, self.world, kind=kind, lineItems=lines, issueDate=on, **more
        )
        if send:
            await self.ask(SEND, id=document["id"])
        return document["id"]

    async def pay(self, on: str, *parts: tuple[str, str], reference: str = "") -> str:
        allocations = [{"documentId": d, "amount": amount} for d, amount in parts]
        customer = gid("Customer", self.world.customer_a)
        payment = {"customerId": customer, "paidOn": on, "mode": "BANK_TRANSFER",
                   "reference": reference, "allocations": allocations}  # fmt: skip
        return (await self.ask(RECORD, input=payment))["payment"]["id"]

    async def refund_payment(self, payment: str, amount: str, on: str) -> None:
        refund = {"paymentId": payment, "amount": amount, "mode": "CASH", "refundedOn": on}
        await self.ask(REFUND_PAYMENT, input=refund)

    async def refund_credit(self, credit: str, amount: str, on: str) -> None:
        refund = {"creditNoteId": credit, "amount": amount, "refundedOn": on, "reference": "BACS 7"}
        await self.ask(REFUND_CREDIT, input=refund)

    async def switch_currency(self, currency: str) -> None:
        await self.ask(CURRENCY, id=gid("Customer", self.world.customer_a), currency=currency)


async def build_ledger(client, world: World) -> None:
    """Three months of customer A in USD and EUR, with every kind of entry and every kind of
    movement that must not be one."""
    staff = Staff(client, world)
    ids = {"INV-1": await staff.document("INVOICE", "1000", "2026-08-05", reference="PO-1")}
    await staff.document("INVOICE", "500", "2026-08-10", send=False)  # a draft: INV-000002
    ids["INV-3"] = await staff.document("INVOICE", "200", "2026-08-12")
    await staff.ask(VOID, id=ids["INV-3"])
    ids["PAY-1"] = await staff.pay("2026-08-20", (ids["INV-1"], "600"), reference="TRF 55")
    ids["CN-1"] = await staff.document("CREDIT_NOTE", "150", "2026-09-03")
    await staff.ask(APPLY_CREDIT, c=ids["CN-1"], i=ids["INV-1"], amount="100")
    ids["RET-1"] = await staff.document("RETAINER_INVOICE", "300", "2026-09-10")
    ids["PAY-2"] = await staff.pay("2026-09-12", (ids["RET-1"], "300"))
    ids["INV-4"] = await staff.document("INVOICE", "250", "2026-09-15")
    await staff.ask(APPLY_RETAINER, p=ids["PAY-2"], i=ids["INV-4"], amount="250")
    await staff.refund_credit(ids["CN-1"], "20", "2026-09-25")
    ids["INV-5"] = await staff.document("INVOICE", "400", "2026-10-02")
    ids["PAY-3"] = await staff.pay("2026-10-08", (ids["INV-5"], "400"))
    await staff.refund_payment(ids["PAY-3"], "100", "2026-10-20")  # INV-5 is due again
    await staff.refund_payment(ids["PAY-2"], "30", "2026-10-25")  # unused retainer money
    await staff.switch_currency("EUR")
    ids["INV-6"] = await staff.document("INVOICE", "80", "2026-09-01")
    await staff.pay("2026-10-15", (ids["INV-6"], "50"))


async def statement(
    client, world: World, start: date, end: date, who: str = "staff", customer=None
) -> dict:
    """As `who` sees it; staff look at customer A unless told otherwise."""
    if customer is None and who == "staff":
        customer = world.customer_a
    variables = {"from": start.isoformat(), "to": end.isoformat(),
                 "c": gid("Customer", customer) if customer else None}  # fmt: skip
    body = await gql(client, STATEMENT, variables, token=world.tokens[who])
    assert "errors" not in body, body
    return body["data"]["statementOfAccounts"]


def by_currency(result: dict) -> dict[str, dict]:
    return {section["currency"]: section for section in result["currencies"]}


def amounts(section: dict) -> dict[str, str]:
    names = ("openingBalance", "invoiced", "paid", "credited", "refunded", "closingBalance")
    return {name: section[name]["amount"] for name in (*names, "amountDue")}


def lines(section: dict) -> list[tuple]:
    money = ("debit", "credit", "balance")
    return [(e["date"], e["kind"], e["number"], e["description"], *(e[m]["amount"] for m in money))
            for e in section["entries"]]  # fmt: skip


async def test_three_months_in_two_currencies(client, world: World) -> None:
    await build_ledger(client, world)
    result = await statement(client, world, AUG, OCT_END)
    assert result["from"] == "2026-08-01" and result["to"] == "2026-10-31"
    assert result["customer"] == {"displayName": "Acorn Ltd"}
    usd, eur = by_currency(result)["USD"], by_currency(result)["EUR"]
    # The draft INV-000002 and the voided INV-000003 are not there; neither are the credit
    # and retainer money applied to invoices, nor the retainer invoice (its payment is).
    assert lines(usd) == [
        ("2026-08-05", "INVOICE", "INV-000001", "PO-1", "1000.00", "0.00", "1000.00"),
        ("2026-08-20", "PAYMENT", "PAY-000001", "INV-000001 · TRF 55", "0.00", "600.00",
         "400.00"),
        ("2026-09-03", "CREDIT_NOTE", "CN-000001", "", "0.00", "150.00", "250.00"),
        ("2026-09-12", "PAYMENT", "PAY-000002", "RET-000001", "0.00", "300.00", "-50.00"),
        ("2026-09-15", "INVOICE", "INV-000004", "", "250.00", "0.00", "200.00"),
        ("2026-09-25", "CREDIT_REFUND", "CN-000001", "BACS 7", "20.00", "0.00", "220.00"),
        ("2026-10-02", "INVOICE", "INV-000005", "", "400.00", "0.00", "620.00"),
        ("2026-10-08", "PAYMENT", "PAY-000003", "INV-000005", "0.00", "400.00", "220.00"),
        ("2026-10-20", "PAYMENT_REFUND", "PAY-000003", "INV-000005", "100.00", "0.00",
         "320.00"),
        ("2026-10-25", "PAYMENT_REFUND", "PAY-000002", "", "30.00", "0.00", "350.00"),
    ]  # fmt: skip
    assert amounts(usd) == {
        "openingBalance": "0.00", "invoiced": "1650.00", "paid": "1300.00",
        "credited": "150.00", "refunded": "150.00", "closingBalance": "350.00",
        "amountDue": "350.00",
    }  # fmt: skip
    assert [(e["document"], e["payment"]) for e in usd["entries"][:4]] == [
        ({"__typename": "Invoice", "number": "INV-000001"}, None),
        (None, {"number": "PAY-000001"}),
        ({"__typename": "CreditNote", "number": "CN-000001"}, None),
        (None, {"number": "PAY-000002"}),
    ]
    assert [(e["document"], e["payment"]) for e in usd["entries"][-2:]] == [
        ({"__typename": "Invoice", "number": "INV-000005"}, {"number": "PAY-000003"}),
        (None, {"number": "PAY-000002"}),
    ]
    assert lines(eur) == [
        ("2026-09-01", "INVOICE", "INV-000006", "", "80.00", "0.00", "80.00"),
        ("2026-10-15", "PAYMENT", "PAY-000004", "INV-000006", "0.00", "50.00", "30.00"),
    ]
    assert amounts(eur)["closingBalance"] == amounts(eur)["amountDue"] == "30.00"
    # The customer's contact sees the very same statement without naming the customer.
    assert await statement(client, world, AUG, OCT_END, who="contact_a") == result


@pytest.mark.slow
async def test_a_period_opens_where_the_one_before_closed(client, world: World) -> None:
    await build_ledger(client, world)
    months = [(date(2026, 8, 1), date(2026, 8, 31)), (date(2026, 9, 1), date(2026, 9, 30)),
              (date(2026, 10, 1), date(2026, 10, 31))]  # fmt: skip
    closings = []
    for start, end in months:
        usd = by_currency(await statement(client, world, start, end))["USD"]
        closings.append((usd["openingBalance"]["amount"], usd["closingBalance"]["amount"]))
    assert closings == [("0.00", "400.00"), ("400.00", "220.00"), ("220.00", "350.00")]

    whole = by_currency(await statement(client, world, AUG, OCT_END))
    splits = ["2026-08-05", "2026-08-06", "2026-08-20", "2026-09-01", "2026-09-12", "2026-09-26",
              "2026-10-15", "2026-10-25", "2026-10-31"]  # fmt: skip
    for split in map(date.fromisoformat, splits):
        before = by_currency(await statement(client, world, AUG, split - timedelta(days=1)))
        after = by_currency(await statement(client, world, split, OCT_END))
        for currency, section in whole.items():
            closing = (
                before[currency]["closingBalance"] if currency in before else {"amount": "0.00"}
            )
            assert after[currency]["openingBalance"] == closing, (split, currency)
            assert after[currency]["closingBalance"] == section["closingBalance"]
            assert lines(before.get(currency, {"entries": []})) + lines(after[currency]) == (
                lines(section)
            ), split
    # After the last entry: only the opening balance, nothing in the period.
    quiet = by_currency(await statement(client, world, date(2026, 11, 1), date(2026, 11, 20)))
    assert {c: (s["openingBalance"]["amount"], s["entries"]) for c, s in quiet.items()} == {
        "EUR": ("30.00", []),
        "USD": ("350.00", []),
    }


async def test_the_closing_balance_reconciles_with_open_balances(client, world: World) -> None:
    """What is left to pay of the invoices, less what is left of the credit notes and the
    unused retainer money, is the statement's amount due, in each currency."""
    await build_ledger(client, world)
    result = await statement(client, world, date(2020, 1, 1), TODAY)
    home = (await gql(client, HOME, {"c": gid("Customer", world.customer_a)},
                      token=world.tokens["staff"]))["data"]["portalHome"]  # fmt: skip

    def per_currency(name: str) -> dict[str, Decimal]:
        return {m["currency"]: Decimal(m["amount"]) for m in home[name]}

    invoices, credits = per_currency("outstandingInvoices"), per_currency("availableCredits")
    retainers = per_currency("availableRetainerPayments")
    assert (invoices, credits, retainers) == (
        {"USD": Decimal(400), "EUR": Decimal(30)}, {"USD": Decimal(30)}, {"USD": Decimal(20)},
    )  # fmt: skip
    for section in result["currencies"]:
        currency = section["currency"]
        expected = (invoices.get(currency, 0) - credits.get(currency, 0)
                    - retainers.get(currency, 0))  # fmt: skip
        assert Decimal(section["amountDue"]["amount"]) == expected, currency


async def test_moving_money_between_documents_changes_no_balance(client, world: World) -> None:
    staff = Staff(client, world)
    invoice = await staff.document("INVOICE", "100", "2026-10-01")
    credit = await staff.document("CREDIT_NOTE", "40", "2026-10-02")
    retainer = await staff.document("RETAINER_INVOICE", "50", "2026-10-03")
    payment = await staff.pay("2026-10-04", (retainer, "50"))
    before = await statement(client, world, AUG, OCT_END)
    await staff.ask(APPLY_CREDIT, c=credit, i=invoice, amount="40")
    await staff.ask(APPLY_RETAINER, p=payment, i=invoice, amount="50")
    assert await statement(client, world, AUG, OCT_END) == before
    assert amounts(by_currency(before)["USD"])["amountDue"] == "10.00"


async def test_online_payments_count_once_the_money_has_come(client, world: World) -> None:
    from models.customers import Customer

    await Customer.filter(id=world.customer_a.id).update(allow_ach=True)
    staff = Staff(client, world)
    invoice = await staff.document("INVOICE", "100", "2026-10-01")
    pending = (await pay(client, world, ({"id": invoice}, "100"), token="tok_ach"))["payment"]
    today = TODAY
    usd = by_currency(await statement(client, world, AUG, today))["USD"]
    assert [e["kind"] for e in usd["entries"]] == ["INVOICE"]
    await staff.ask(SETTLE, id=pending["id"], outcome="SUCCEEDED")
    usd = by_currency(await statement(client, world, AUG, today))["USD"]
    assert [(e["kind"], e["date"]) for e in usd["entries"]] == [
        ("INVOICE", "2026-10-01"),
        ("PAYMENT", today.isoformat()),
    ]
    assert usd["amountDue"]["amount"] == "0.00"


async def test_one_days_entries_come_in_a_stable_order(client, world: World) -> None:
    staff = Staff(client, world)
    first = await staff.document("INVOICE", "10", "2026-10-01")
    payment = await staff.pay("2026-10-01", (first, "10"))
    await staff.refund_payment(payment, "4", "2026-10-01")
    await staff.document("CREDIT_NOTE", "3", "2026-10-01")
    await staff.document("INVOICE", "20", "2026-10-01")
    usd = by_currency(await statement(client, world, AUG, OCT_END))["USD"]
    assert [(e["kind"], e["number"], e["balance"]["amount"]) for e in usd["entries"]] == [
        ("INVOICE", "INV-000001", "10.00"),
        ("INVOICE", "INV-000002", "30.00"),
        ("CREDIT_NOTE", "CN-000001", "27.00"),
        ("PAYMENT", "PAY-000001", "17.00"),
        ("PAYMENT_REFUND", "PAY-000001", "21.00"),
    ]


async def test_each_sees_only_the_statements_it_may(client, world: World) -> None:
    await Staff(client, world).document("INVOICE", "100", "2026-10-01")
    theirs = await statement(client, world, AUG, OCT_END, who="contact_b")
    assert theirs["customer"] == {"displayName": "Birch Inc"} and theirs["currencies"] == []
    own = await statement(client, world, AUG, OCT_END, "contact_a", world.customer_a)
    assert len(own["currencies"][0]["entries"]) == 1
    variables = {"c": gid("Customer", world.customer_a), "from": "2026-08-01", "to": "2026-10-31"}
    for who in ("contact_b", "contact_other_org", "staff_other_org"):  # not theirs: null
        body = await gql(client, STATEMENT, variables, token=world.tokens[who])
        assert body == {"data": {"statementOfAccounts": None}}, who
    for who in ("partner", "partner_no_scope"):
        body = await gql(client, STATEMENT, variables, token=world.tokens[who])
        assert error_codes(body) == ["FORBIDDEN"], who
        assert body["data"] == {"statementOfAccounts": None}
    assert error_codes(await gql(client, STATEMENT, variables)) == ["UNAUTHENTICATED"]
    without = await gql(client, STATEMENT, {**variables, "c": None}, token=world.tokens["staff"])
    assert error_codes(without) == ["BAD_USER_INPUT"]


async def test_partner_keys_need_to_read_documents_and_payments(client, world: World) -> None:
    from auth.api_keys import ApiScope, issue_api_key

    await Staff(client, world).document("INVOICE", "100", "2026-10-01")
    variables = {"c": gid("Customer", world.customer_a), "from": "2026-08-01", "to": "2026-10-31"}
    for scopes, code in (
        ([ApiScope.CUSTOMERS_READ, ApiScope.DOCUMENTS_READ], "FORBIDDEN"),
        ([ApiScope.CUSTOMERS_READ, ApiScope.DOCUMENTS_READ, ApiScope.PAYMENTS_READ], None),
    ):
        key, _ = await issue_api_key(organization_id=world.org_a.id, name=f"K{len(scopes)}",
                                     scopes=scopes, created_by_id=world.admin.id)  # fmt: skip
        body = await gql(client, STATEMENT, variables, token=key)
        assert error_codes(body) == ([code] if code else []), scopes
    assert body["data"]["statementOfAccounts"]["currencies"][0]["amountDue"] == {"amount": "100.00"}


async def test_drafts_are_never_on_a_statement(client, world: World) -> None:
    staff = Staff(client, world)
    await staff.document("INVOICE", "100", "2026-10-01", send=False)
    await staff.document("CREDIT_NOTE", "10", "2026-10-01", send=False)
    for who in ("staff", "contact_a"):
        result = await statement(client, world, AUG, OCT_END, who=who)
        assert result["currencies"] == [], who


async def test_hidden_credit_notes_still_count(client, world: World) -> None:
    staff = Staff(client, world)
    await staff.document("INVOICE", "100", "2026-10-01")
    await staff.document("CREDIT_NOTE", "10", "2026-10-02")
    hide = (
        "mutation { updatePortalPreferences(input: {showCreditNotes: false}) { errors { code } } }"
    )
    await gql(client, hide, token=world.tokens["admin"])
    usd = by_currency(await statement(client, world, AUG, OCT_END, who="contact_a"))["USD"]
    assert [(e["kind"], e["document"]) for e in usd["entries"]] == [
        ("INVOICE", {"__typename": "Invoice", "number": "INV-000001"}),
        ("CREDIT_NOTE", None),
    ]
    assert usd["amountDue"]["amount"] == "90.00"


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        ("2026-10-02", "2026-10-01", False),
        ("2016-10-01", "2026-10-01", True),
        ("2016-09-30", "2026-10-01", False),
        ("2026-10-01", "2026-10-01", True),
    ],
)
async def test_the_period_is_checked(client, world: World, start, end, allowed) -> None:
    variables = {"c": gid("Customer", world.customer_a), "from": start, "to": end}
    body = await gql(client, STATEMENT, variables, token=world.tokens["staff"])
    assert error_codes(body) == ([] if allowed else ["BAD_USER_INPUT"])


async def test_too_many_entries_are_refused(client, world: World, monkeypatch) -> None:
    staff = Staff(client, world)
    for day in ("2026-10-01", "2026-10-02", "2026-10-03"):
        await staff.document("INVOICE", "10", day)
    monkeypatch.setattr(statements, "MAX_ENTRIES", 2)
    variables = {"c": gid("Customer", world.customer_a), "from": "2026-10-01", "to": "2026-10-31"}
    body = await gql(client, STATEMENT, variables, token=world.tokens["staff"])
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert "more than 2 entries" in body["errors"][0]["message"]
    shorter = await statement(client, world, date(2026, 10, 2), OCT_END)
    assert len(shorter["currencies"][0]["entries"]) == 2


async def test_queries_do_not_grow_with_the_entries(client, world: World, count_queries) -> None:
    staff = Staff(client, world)
    measured = []
    for month, days in ((8, 1), (9, 7)):
        for on in (f"2026-{month:02}-{day:02}" for day in range(1, days + 1)):
            invoice = await staff.document("INVOICE", "10", on)
            payment = await staff.pay(on, (invoice, "10"))
            await staff.refund_payment(payment, "1", on)
        credit = await staff.document("CREDIT_NOTE", "5", f"2026-{month:02}-03")
        await staff.refund_credit(credit, "5", f"2026-{month:02}-04")
        count_queries.reset()
        result = await statement(client, world, date(2026, month, 1), date(2026, month, 28))
        measured.append((len(result["currencies"][0]["entries"]), count_queries.count))
    (few, queries), (many, same_queries) = measured
    assert (few, many) == (5, 23)
    assert queries == same_queries, count_queries.statements
