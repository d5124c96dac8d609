"""Registered queries run on the planned path (schema.planned), which must answer exactly what
graphql-core answers: the same data, the same nulls, the same errors in the same order.

Every operation the front ends send (documents/*.graphql), every query example of the README
and a few operations that probe the corners (aliases, directives, fragments, lists with nulls,
errors that null their parents) run over HTTP for every kind of principal, twice: once as a
registered document, once as a document that differs only by a final newline and so is not
registered. The two answers must be the same bytes. A spy on the planned path makes sure the
first really took it and the second did not, so the comparison cannot pass by comparing
graphql-core with itself.
"""

from __future__ import annotations

import asyncio
import re
import textwrap
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

import httpx
import pytest
import strawberry
from graphql import OperationDefinitionNode, OperationType, parse
from strawberry.permission import BasePermission

from auth.api_keys import ApiScope, issue_api_key
from models.customers import Customer
from models.organizations import Organization
from resolvers import persisted_queries
from schema.execution import PorticoExecution, shared_plans
from schema.planned import PlannedFields
from server import document_commands
from server.settings import Settings
from tests.conftest import World, app_client, gid, gql

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted((ROOT / "documents").glob("*.graphql"))
README = ROOT / "README.md"

# Queries no front end sends, for what the front ends' documents do not show: aliases,
# directives, fragments without a type, __typename everywhere, a list with nulls, and staff-only
# fields whose errors null a nullable parent, or everything up to the root.
PROBES = """
query Probe($id: ID!, $ids: [ID!]!, $lines: Boolean!, $totals: Boolean!) {
  __typename
  me: viewer {
    __typename
    ... on ContactPerson { id name }
    ... on StaffUser { id name }
    ... on ApiKey { id name scopes }
  }
  one: node(id: $id) {
    __typename
    id
    ... on Node { again: id }
    ... { kind: __typename }
    ... on SalesDocument {
      no: number
      status
      sentAt
      firstViewedAt
      internalNotes
      customerNotes
      total @skip(if: $totals) { amount currency formatted }
      lines: lineItems @include(if: $lines) {
        __typename name quantity rate costRate
        amount { __typename amount }
        margin { amount }
      }
      source { __typename id }
    }
    ... on Payable { dueDate paymentTermsDays balanceDue { amount } isOverdue }
    ... on Invoice { alsoDue: dueDate creditsApplied { amount { amount } creditNote { number } } }
    ... on Quote { expiryDate isExpired }
  }
  many: nodes(ids: $ids) { __typename id ... on SalesDocument { number status } }
}

query ProbeNullsTheRoot {
  salesDocuments(first: 5) { nodes { number ... on Invoice { internalNotes } } }
}

query ProbeErrorsInLists {
  salesDocuments(first: 20, orderBy: {field: NUMBER, direction: ASC}) {
    nodes { __typename number lineItems { name costRate margin { amount } } }
  }
}

query ProbeBadId {
  node(id: "no such id") { id }
  organization { __typename name }
}
"""

# Partner keys: "partner" may read customers only, "partner_documents" documents and activity,
# "customer_key" everything of customer A's, as A's contact sees it.
PRINCIPALS = (
    "anonymous",
    "staff",
    "contact_a",
    "contact_b",
    "contact_other_org",
    "staff_other_org",
    "partner",
    "partner_documents",
    "customer_key",
)

# How often graphql-core runs a request again when its answer was not the planned path's.
RETRIES = 5

# The front ends' busiest pages: the planned path must answer them itself.
HOT = {("PortalInvoices", "contact_a"), ("PortalHome", "contact_a"), ("StaffInvoices", "staff")}


# -- the two paths -----------------------------------------------------------------------------


@dataclass
class Paths:
    """What the executors built since the last reset did. Only theirs: work that a request
    which gave up the planned path left to settle in the background may still be running."""

    planned: int = 0  # selections the planned path completed
    replanned: int = 0  # operations it gave back to graphql-core
    executors: list[Any] = field(default_factory=list)

    async def settle_and_reset(self) -> None:
        """Waits for the work the last executors left to settle in the background, so that no
        request runs beside the leftovers of the one before, then forgets them."""
        for executor in self.executors:
            while executor.background_futures:
                await asyncio.wait(list(executor.background_futures))
        self.planned = self.replanned = 0
        self.executors = []


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> Paths:
    seen = Paths()
    execute_planned_fields = PlannedFields.execute_planned_fields
    execute_root_fields = PorticoExecution._execute_root_fields

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if any(self is executor for executor in seen.executors):
            seen.planned += 1
        return execute_planned_fields(self, *args, **kwargs)

    def counting_root(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.planned and any(self is executor for executor in seen.executors):
            seen.planned += 1
        return execute_root_fields(self, *args, **kwargs)

    build = PorticoExecution.build.__func__  # type: ignore[attr-defined]

    def building(cls: Any, *args: Any, **kwargs: Any) -> Any:
        built = build(cls, *args, **kwargs)
        seen.executors.append(built)
        if getattr(built, "planned", False):
            generic = built._generic

            def replanned() -> Any:
                seen.replanned += 1
                rebuilt = generic()
                seen.executors.append(rebuilt)
                return rebuilt

            built._generic = replanned
        return built

    monkeypatch.setattr(PlannedFields, "execute_planned_fields", counting)
    monkeypatch.setattr(PorticoExecution, "_execute_root_fields", counting_root)
    monkeypatch.setattr(PorticoExecution, "build", classmethod(building))
    return seen


@dataclass(frozen=True)
class Request:
    text: str
    operation: str | None
    variables: dict[str, Any]
    who: str

    def __str__(self) -> str:
        return f"{self.operation or '(anonymous)'} as {self.who} with {self.variables}"


@dataclass
class Tally:
    compared: int = 0
    planned_without_replan: set[tuple[str | None, str]] = field(default_factory=set)
    races: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)


async def post(http: httpx.AsyncClient, text: str, request: Request, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"query": text, "operationName": request.operation, "variables": request.variables}
    return await http.post("/graphql", json=body, headers=headers)


async def both_ways(
    http: httpx.AsyncClient, request: Request, tokens: dict[str, str], paths: Paths, tally: Tally
) -> dict[str, Any]:
    """Runs the request unregistered, then registered; records any difference; returns the
    answer."""
    token = tokens.get(request.who)
    await paths.settle_and_reset()
    # Not registered: a final newline changes the hash and nothing else, not even where an
    # error's location points.
    generic = await post(http, request.text + "\n", request, token)
    assert (paths.planned, paths.replanned) == (0, 0), f"{request}: planned though unregistered"
    await paths.settle_and_reset()
    planned = await post(http, request.text, request, token)
    assert paths.planned > 0, f"{request}: the registered document was not planned"
    replanned = paths.replanned
    if replanned == 0:
        tally.planned_without_replan.add((request.operation, request.who))
    tally.compared += 1
    if (generic.status_code, generic.text) != (planned.status_code, planned.text):
        # Where non-null fields fail in several branches at once, the one that fails first
        # nulls the parent and its error alone is reported: graphql-core's answer then
        # depends on which statement returns first. An answer graphql-core also gives is its.
        for _ in range(RETRIES):
            again = await post(http, request.text + "\n", request, token)
            if (again.status_code, again.text) == (planned.status_code, planned.text):
                tally.races.append(str(request))
                return generic.json()
        if same_failure(generic, planned):
            tally.races.append(str(request))
            return generic.json()
        gave_up = " (after giving the operation back)" if replanned else ""
        tally.differences.append(
            f"{request}:\n  graphql-core {generic.status_code} {generic.text}\n"
            f"  planned{gave_up} {planned.status_code} {planned.text}"
        )
    return generic.json()


def same_failure(generic: httpx.Response, planned: httpx.Response) -> bool:
    """Both answers null the whole result for the same error (message and code), reported at
    different fields: independent root fields that fail alike, whichever failed first. Which
    one graphql-core reports depends on which statement returns first, and on a loaded
    machine that can be the other one every time."""
    answers = generic.json(), planned.json()
    if generic.status_code != planned.status_code or any(a.get("data") for a in answers):
        return False
    failures = [
        sorted((e["message"], e.get("extensions", {}).get("code")) for e in a["errors"])
        for a in answers
    ]
    return failures[0] == failures[1] and len(failures[0]) == 1


def next_cursor(answer: Any) -> str | None:
    """The end cursor of the first page in the answer that has another after it."""
    if isinstance(answer, dict):
        if answer.get("hasNextPage") and answer.get("endCursor"):
            return answer["endCursor"]
        values: Any = answer.values()
    elif isinstance(answer, list):
        values = answer
    else:
        return None
    for value in values:
        cursor = next_cursor(value)
        if cursor:
            return cursor
    return None


# -- what the front ends send ------------------------------------------------------------------


def operations_of(text: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]


def readme_examples() -> list[str]:
    """The README's ```graphql blocks, also those indented in a list."""
    found = re.finditer(r"^( *)```graphql\n(.*?)^\1```$", README.read_text(), re.M | re.S)
    return [textwrap.dedent(match.group(2)) for match in found]


def test_every_front_end_document_registers() -> None:
    assert {path.name for path in DOCUMENTS} >= {"portal.graphql", "staff.graphql"}
    candidates = document_commands.read(DOCUMENTS)  # refuses any that would not run
    for candidate in candidates:
        names = [operation.name for operation in operations_of(candidate.text)]
        assert all(names), f"{candidate.source}: every operation needs a name"
        kinds = {operation.operation for operation in operations_of(candidate.text)}
        assert kinds == {OperationType.QUERY}, candidate.source


def test_the_readme_examples_are_found() -> None:
    """Else the comparison below would leave them out without a word."""
    examples = readme_examples()
    queries = [text for text in examples if operations_of(text)[0].operation == OperationType.QUERY]
    assert queries and len(examples) > len(queries)


# -- the test world ----------------------------------------------------------------------------

CREATE = """mutation($input: CreateSalesDocumentInput!) { createSalesDocument(input: $input) {
  salesDocument { id } errors { code field } } }"""
SEND = """mutation($id: ID!) { sendSalesDocument(input: {id: $id}) { errors { code } } }"""


async def seed(http: httpx.AsyncClient, world: World) -> dict[str, str]:
    """Documents of every kind, in every state that shows differently, and what hangs off
    them; returns their global ids by name."""

    async def call(query: str, variables: dict[str, Any], who: str = "staff") -> dict[str, Any]:
        body = await gql(http, query, variables, token=world.tokens[who])
        assert "errors" not in body, body
        [payload] = body["data"].values()
        assert payload.get("errors") in (None, []), payload
        return payload

    async def document(kind: str, *, send: bool = True, who: str = "staff", **fields: Any) -> str:
        lines = [{"name": "Consulting", "quantity": "2", "rate": "150"}]
        document_input = {"kind": kind, "customerId": gid("Customer", world.customer_a),
                          "issueDate": "2026-11-02", "lineItems": lines, **fields}  # fmt: skip
        created = await call(CREATE, {"input": document_input}, who)
        document_id = created["salesDocument"]["id"]
        if send:
            await call(SEND, {"id": document_id}, who)
        return document_id

    ids = {}
    ids["overdue"] = await document(
        "INVOICE",
        issueDate="2026-10-01",
        paymentTermsDays=30,
        reference="PO-7",
        customerNotes="Thank you for your business.",
        terms="Net 30",
        internalNotes="Chase in December.",
        allowPartialPayments=True,
        paymentMethods=["CARD", "ACH"],
        lineItems=[
            {"name": "Widget", "quantity": "3", "rate": "19.995", "discountPercent": "10",
             "taxPercent": "8.25", "costRate": "12.5"},
            {"name": "Screws", "quantity": "1.5", "rate": "0.333", "unit": "box"},
        ],
    )  # fmt: skip
    ids["undated"] = await document("INVOICE")  # no due date, notes, terms or ways to pay
    ids["draft"] = await document("INVOICE", send=False, dueDate="2026-12-31")
    ids["paid"] = await document("INVOICE", paymentMethods=["CARD"], paymentTermsDays=15)
    ids["expired"] = await document("QUOTE", issueDate="2026-10-01", dueDate="2026-10-15")
    ids["quote"] = await document("QUOTE", dueDate="2026-12-15")
    ids["order"] = await document("SALES_ORDER", dueDate="2026-12-01")
    ids["credit"] = await document("CREDIT_NOTE")
    ids["retainer"] = await document("RETAINER_INVOICE", paymentTermsDays=7)
    ids["other_customer"] = await document(
        "INVOICE", customerId=gid("Customer", world.customer_b), paymentTermsDays=30
    )
    ids["other_org"] = await document(
        "INVOICE", who="staff_other_org", customerId=gid("Customer", world.customer_other_org)
    )
    converted = await call(
        """mutation($id: ID!) { convertSalesDocument(input: {id: $id, to: INVOICE}) {
          salesDocument { id } errors { code } } }""",
        {"id": ids["quote"]},
    )
    ids["converted"] = converted["salesDocument"]["id"]
    await call(
        """mutation($id: ID!) { recordShipment(input: {salesOrderId: $id, carrier: "DHL",
          trackingNumber: "JD0142"}) { errors { code } } }""",
        {"id": ids["order"]},
    )
    await call(
        """mutation($credit: ID!, $invoice: ID!) { applyCredit(input: {creditNoteId: $credit,
          invoiceId: $invoice, amount: "5"}) { errors { code } } }""",
        {"credit": ids["credit"], "invoice": ids["overdue"]},
    )
    record = """mutation($input: RecordPaymentInput!) { recordPayment(input: $input) {
      payment { id } errors { code field } } }"""
    for document_id, amount in ((ids["overdue"], "20.00"), (ids["retainer"], "300")):
        payment = await call(record, {"input": {
            "customerId": gid("Customer", world.customer_a), "mode": "CHEQUE",
            "reference": "CHQ 1001", "internalNotes": "Handed in at the front desk.",
            "allocations": [{"documentId": document_id, "amount": amount}],
        }})  # fmt: skip
    ids["retainer_payment"] = payment["payment"]["id"]  # by cheque
    paid = await call(
        """mutation($input: PayInvoicesInput!) { payInvoices(input: $input) {
          payment { id } errors { code } } }""",
        {"input": {"idempotencyKey": uuid.uuid4().hex, "token": "tok_visa",
                   "savePaymentMethod": True,
                   "allocations": [{"documentId": ids["paid"], "amount": "300"}]}},
        who="contact_a",
    )  # fmt: skip
    ids["card"] = paid["payment"]["id"]
    comment = """mutation($id: ID!, $body: String!, $internal: Boolean!) {
      addComment(input: {documentId: $id, body: $body, internal: $internal}) {
        comment { id } errors { code } } }"""
    for who, body, internal in (
        ("contact_a", "Could you split the screws into two boxes?", False),
        ("staff", "Done, see the new line.", False),
        ("staff", "They always ask this.", True),
    ):
        await call(comment, {"id": ids["overdue"], "body": body, "internal": internal}, who)
    # Credit notes are a kind the portal can hide: contacts get nulls and FORBIDDEN for them.
    await call(
        "mutation { updatePortalPreferences(input: {showCreditNotes: false}) { errors { code } } }",
        {},
        who="admin",
    )
    ids["customer_a"] = gid("Customer", world.customer_a)
    ids["customer_b"] = gid("Customer", world.customer_b)
    ids["contact_a"] = gid("ContactPerson", world.contact_a)
    # Amounts are formatted in the viewer's language (Money.formatted): both paths alike, for
    # a contact who reads German and staff and keys whose organization writes French.
    await Customer.filter(id=world.customer_a.id).update(portal_language="de")
    await Organization.filter(id=world.org_a.id).update(locale="fr_FR")
    return ids


def variables_of(ids: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The variables each operation runs with; each runs with `{}` when it takes none."""
    names = ("overdue", "undated", "draft", "paid", "expired", "order", "credit", "retainer",
             "converted", "other_customer", "other_org")  # fmt: skip
    documents = [ids[name] for name in names]
    shown = [document for document in documents if document != ids["credit"]]
    kinds = [["QUOTE"], ["SALES_ORDER"], ["CREDIT_NOTE"], ["RETAINER_INVOICE"]]
    return {
        "PortalInvoices": [{"first": 20}, {"first": 1}],
        "PortalDocument": [{"id": document} for document in documents],
        "PortalDocuments": [{"kinds": kind, "first": 10} for kind in kinds],
        "PortalPayments": [{"first": 10}, {"first": 1}],
        "PortalStatement": [
            {},
            {"period": "THIS_YEAR"},
            {"from": "2026-10-01", "to": "2026-11-30"},
        ],
        "PortalActivity": [{"first": 5}],
        "PortalSharedFiles": [{"first": 10}],
        "StaffInvoices": [
            {"first": 20},
            {"first": 2, "filter": {"kinds": ["INVOICE"], "overdue": True}},
            {
                "first": 3,
                "filter": {"statuses": ["DRAFT", "SENT"]},
                "orderBy": {"field": "DUE_DATE", "direction": "ASC"},
            },
            {"first": 5, "filter": {"customerId": ids["customer_a"], "viewedByCustomer": True}},
        ],
        "StaffDocument": [{"id": document} for document in documents],
        "StaffCustomers": [{"first": 1}, {"first": 10, "search": "acorn"}],
        "StaffCustomer": [{"id": ids["customer_a"]}, {"id": ids["customer_b"]}],
        "StaffPayments": [{"first": 10}, {"first": 5, "filter": {"modes": ["CARD"]}}],
        "StaffActivity": [{"first": 5}, {"first": 10, "filter": {"customerId": ids["customer_a"]}}],
        "StaffNotifications": [{"first": 10}, {"first": 10, "unread": True}],
        # Contacts may not see credit notes here: one among `ids` fails the whole list.
        "Probe": [
            {"id": ids[name], "ids": shown, "lines": True, "totals": False}
            for name in ("overdue", "undated", "draft", "expired", "credit", "other_org")
        ]
        + [
            {"id": ids["contact_a"], "ids": documents, "lines": False, "totals": True},
            {"id": ids["retainer_payment"], "ids": [ids["card"]], "lines": False, "totals": False},
        ],
    }


def requests_of(text: str, variables: dict[str, list[dict[str, Any]]]) -> Iterator[Request]:
    for operation in operations_of(text):
        if operation.operation != OperationType.QUERY:
            continue
        name = operation.name.value if operation.name else None
        takes = bool(operation.variable_definitions)
        sets = variables.get(name or "", [{}])
        assert takes == (sets != [{}]), f"{name}: give it variables here (or none)"
        for values in sets:
            for who in PRINCIPALS:
                yield Request(text, name, values, who)


# -- the comparison ----------------------------------------------------------------------------


@pytest.mark.slow
async def test_registered_queries_answer_as_graphql_core_does(
    db: Settings, world: World, paths: Paths
) -> None:
    # Registered before the server starts, as a deployment does: `portico documents register`.
    examples = readme_examples()
    candidates = document_commands.read(DOCUMENTS)
    await document_commands.register(candidates)
    texts = [candidate.text for candidate in candidates]
    for text in [*examples, PROBES]:
        await persisted_queries.register(text)
    # Without API keys' budgets: hundreds of requests by one key would run its budget dry, and
    # each answer's `extensions.cost` tells a different remainder.
    async with app_client(db, api_key_budget=0) as http:
        ids = await seed(http, world)
        tokens = {
            **world.tokens,
            "partner_documents": (
                await issue_api_key(
                    organization_id=world.org_a.id,
                    name="Reports",
                    scopes=[ApiScope.DOCUMENTS_READ, ApiScope.ACTIVITY_READ],
                    created_by_id=world.admin.id,
                )
            )[0],
        }
        variables = variables_of(ids)
        tally = Tally()
        for text in [*texts, *examples, PROBES]:
            for request in requests_of(text, variables):
                answer = await both_ways(http, request, tokens, paths, tally)
                cursor = next_cursor(answer.get("data"))
                if cursor and "after" in _variable_names(request):
                    following = Request(
                        request.text, request.operation,
                        {**request.variables, "after": cursor}, request.who,
                    )  # fmt: skip
                    await both_ways(http, following, tokens, paths, tally)
        # The README's mutations are registered too: they still run on graphql-core's path.
        for example in examples:
            if operations_of(example)[0].operation == OperationType.MUTATION:
                await paths.settle_and_reset()
                await post(http, example, Request(example, None, {}, "anonymous"), None)
                assert paths.planned == 0, example
    assert not tally.differences, "\n".join(tally.differences)
    assert tally.planned_without_replan >= HOT, HOT - tally.planned_without_replan
    assert tally.compared > 300


def _variable_names(request: Request) -> set[str]:
    [operation] = [
        operation
        for operation in operations_of(request.text)
        if (operation.name.value if operation.name else None) == request.operation
    ]
    return {definition.variable.name.value for definition in operation.variable_definitions}


async def test_a_contact_asking_for_staff_only_fields_gets_the_same_errors(
    db: Settings, world: World, paths: Paths
) -> None:
    query = """query Nullable($id: ID!) { node(id: $id) { ... on Invoice { number firstViewedAt
      lineItems { name costRate } } } }
    query NonNull($id: ID!) { node(id: $id) { ... on Invoice { number internalNotes } } }"""
    await persisted_queries.register(query)
    async with app_client(db) as http:
        ids = await seed(http, world)
        tally = Tally()
        answers = {
            operation: await both_ways(
                http,
                Request(query, operation, {"id": ids["overdue"]}, "contact_a"),
                world.tokens,
                paths,
                tally,
            )
            for operation in ("Nullable", "NonNull")
        }
    assert not tally.differences, tally.differences
    nullable = answers["Nullable"]
    assert nullable["data"] == {"node": {
        "number": "INV-000001", "firstViewedAt": None,
        "lineItems": [{"name": "Widget", "costRate": None}, {"name": "Screws", "costRate": None}],
    }}  # fmt: skip
    assert [(error["path"], error["extensions"]["code"]) for error in nullable["errors"]] == [
        (["node", "firstViewedAt"], "FORBIDDEN"),
        (["node", "lineItems", 0, "costRate"], "FORBIDDEN"),
        (["node", "lineItems", 1, "costRate"], "FORBIDDEN"),
    ]
    non_null = answers["NonNull"]
    assert non_null["data"] == {"node": None}
    assert [(error["path"], error["extensions"]["code"]) for error in non_null["errors"]] == [
        (["node", "internalNotes"], "FORBIDDEN")
    ]


# -- permissions on plain attributes -----------------------------------------------------------


class Refused(BasePermission):
    message = "Staff only."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        return False


@strawberry.type
class Account:
    name: str
    # An attribute, no resolver: only the permission stands between the client and the value.
    secret: str | None = strawberry.field(permission_classes=[Refused])


@strawberry.type
class AccountQuery:
    @strawberry.field
    def account(self) -> Account:
        return Account(name="Acorn", secret="s3cret")


@dataclass
class Registered:
    registered_document: bool = True


async def test_a_permission_on_a_plain_attribute_runs_on_the_planned_path(paths: Paths) -> None:
    schema = strawberry.Schema(query=AccountQuery, execution_context_class=PorticoExecution)
    answers = []
    for registered in (False, True):
        await paths.settle_and_reset()
        result = await schema.execute(
            "{ account { name secret } }", context_value=Registered(registered)
        )
        assert (paths.planned > 0) is registered
        answers.append((result.data, [error.formatted for error in result.errors or []]))
    assert answers[0] == answers[1]
    assert answers[1] == (
        {"account": {"name": "Acorn", "secret": None}},
        [{"message": "Staff only.", "locations": [{"line": 1, "column": 18}],
          "path": ["account", "secret"]}],
    )  # fmt: skip


# -- giving an operation back ------------------------------------------------------------------


@dataclass
class Runs:
    started: int = 0
    finished: int = 0


RUNS = Runs()


@strawberry.type
class Broken:
    @strawberry.field
    def value(self) -> str:
        raise ValueError("broken")


@strawberry.type
class SlowQuery:
    @strawberry.field
    async def slow(self) -> int:
        RUNS.started += 1
        await asyncio.sleep(0.05)
        RUNS.finished += 1
        return 1

    @strawberry.field
    async def broken(self) -> Broken | None:
        return Broken()


async def test_giving_an_operation_back_cancels_what_it_had_started(paths: Paths) -> None:
    """The error below `broken` gives the operation back to graphql-core while `slow` is still
    running: that run must end there, not race graphql-core's for the rest of the request."""
    schema = strawberry.Schema(query=SlowQuery, execution_context_class=PorticoExecution)
    answers = []
    for registered in (False, True):
        RUNS.started = RUNS.finished = 0
        await paths.settle_and_reset()
        context = Registered(registered)
        result = await schema.execute("{ slow broken { value } }", context_value=context)
        await asyncio.sleep(0.1)  # time enough for a run left behind to finish
        answers.append((result.data, [error.formatted for error in result.errors or []]))
        assert paths.replanned == int(registered)
        assert (RUNS.started, RUNS.finished) == ((2, 1) if registered else (1, 1))
    assert answers[0] == answers[1]
    assert answers[1][0] == {"slow": 1, "broken": None}


# -- values graphql-core refuses ---------------------------------------------------------------


@strawberry.enum
class Shade(Enum):
    LIGHT = "light"


@strawberry.type
class Part:
    label: str


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Thing(Named):
    size: int
    price: Decimal
    shade: Shade
    tags: list[str]
    parts: list[Part]
    part: Part


# A resolver's bugs, each a value graphql-core refuses, and where it says so. Each runs alone:
# the first refusal gives the whole operation back to graphql-core, hiding any after it.
DEFECTS: dict[str, tuple[dict[str, Any], list[Any]]] = {
    "none": ({}, []),
    "null": ({"name": None}, ["name"]),
    "not an int": ({"size": "big"}, ["size"]),
    "too big an int": ({"size": 2**31}, ["size"]),
    "not a member": ({"shade": "dark"}, ["shade"]),
    "null in a list": ({"tags": ["a", None]}, ["tags", 1]),
    "null object in a list": ({"parts": [Part(label="p"), None]}, ["parts", 1]),
    "null object": ({"part": None}, ["part"]),
    "null below": ({"part": Part(label=None)}, ["part", "label"]),  # type: ignore[arg-type]
}


def _thing(**defect: Any) -> Thing:
    values = {"name": "ok", "size": 1, "price": Decimal("1.50"), "shade": Shade.LIGHT,
              "tags": ["a"], "parts": [Part(label="p")], "part": Part(label="q")}  # fmt: skip
    return Thing(**{**values, **defect})


@strawberry.type
class ThingQuery:
    @strawberry.field
    def things(self, defect: str) -> list[Thing | None]:
        return [_thing(), _thing(**DEFECTS[defect][0])]

    @strawberry.field
    def named(self) -> list[Named]:
        return [_thing(), _thing(name="other")]


@pytest.mark.parametrize("defect", DEFECTS)
async def test_values_graphql_core_refuses_are_refused_alike(paths: Paths, defect: str) -> None:
    schema = strawberry.Schema(query=ThingQuery, execution_context_class=PorticoExecution)
    query = """query($defect: String!) { things(defect: $defect) { __typename name size price shade
      tags parts { label } part { label } } named { __typename name ... on Thing { size } } }"""
    answers = []
    for registered in (False, True):
        await paths.settle_and_reset()
        context = Registered(registered)
        result = await schema.execute(query, {"defect": defect}, context_value=context)
        assert (paths.planned > 0) is registered
        answers.append((result.data, [error.formatted for error in result.errors or []]))
    assert answers[0] == answers[1]
    data, errors = answers[1]
    place = DEFECTS[defect][1]
    if place:
        assert data["things"][1] is None
        assert [error["path"] for error in errors] == [["things", 1, *place]]
    else:
        assert data["things"][1]["price"] == "1.50" and errors == []


def test_plans_are_shared_only_where_the_variables_cannot_change_what_is_collected() -> None:
    plain = parse("query A { viewer { __typename } organization { name } }")
    directed = parse(
        "query B($x: Boolean!) { viewer { ...V } }\n"
        "fragment V on Viewer { __typename @skip(if: $x) }"
    )
    [operation] = plain.definitions
    shared = shared_plans(plain, operation)
    assert shared is not None and shared_plans(plain, operation) is shared
    assert shared_plans(directed, directed.definitions[0]) is None
