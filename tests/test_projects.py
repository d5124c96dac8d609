from __future__ import annotations

from tests.conftest import World, error_codes, gid, gql

CREATE = """mutation($customer: ID!) { createProject(input: {customerId: $customer,
  name: "Office fit-out", billingMethod: HOURLY, rate: "85"}) {
  project { id name status rate { amount currency } loggedHours } errors { code field } } }"""
LOG = """mutation($project: ID!, $minutes: Int!) { logTime(input: {projectId: $project,
  loggedOn: "2026-11-18", minutes: $minutes, notes: "Wiring"}) {
  project { loggedHours billedHours unbilledHours timeEntries { hours notes } }
  errors { code field } } }"""
LIST = """{ projects { totalCount nodes { name loggedHours unbilledHours
  customer { displayName } } } }"""


async def test_projects_and_timesheets(client, world: World, count_queries) -> None:
    staff = world.tokens["staff"]
    body = await gql(client, CREATE, {"customer": gid("Customer", world.customer_a)}, token=staff)
    project = body["data"]["createProject"]["project"]
    assert project["rate"] == {"amount": "85.00", "currency": "USD"}
    assert project["status"] == "ACTIVE"
    typed = await gql(client, '{ __type(name: "Project") { fields { name type { ofType { '
                      'kind name } } } } }', token=staff)  # fmt: skip
    [status] = [f for f in typed["data"]["__type"]["fields"] if f["name"] == "status"]
    assert status["type"]["ofType"] == {"kind": "ENUM", "name": "ProjectStatus"}
    assert project["loggedHours"] == "0.00"
    too_long = await gql(client, LOG, {"project": project["id"], "minutes": 1441}, token=staff)
    assert too_long["data"]["logTime"]["errors"] == [{"code": "INVALID", "field": ["minutes"]}]
    for minutes in (90, 45):
        body = await gql(client, LOG, {"project": project["id"], "minutes": minutes},
                         token=staff)  # fmt: skip
    logged = body["data"]["logTime"]["project"]
    assert logged["loggedHours"] == "2.25" and logged["unbilledHours"] == "2.25"
    assert logged["billedHours"] == "0.00" and len(logged["timeEntries"]) == 2

    for _ in range(5):
        await gql(client, CREATE, {"customer": gid("Customer", world.customer_a)}, token=staff)
    count_queries.count = 0
    await gql(client, LIST, token=staff)
    many = count_queries.count
    count_queries.count = 0
    await gql(client, LIST.replace("projects {", "projects(first: 1) {"), token=staff)
    assert count_queries.count == many  # hours come from one grouped query per page

    mine = await gql(client, LIST, token=world.tokens["contact_a"])
    assert error_codes(mine) == ["FORBIDDEN"]  # the portal does not show projects by default
    await gql(client, "mutation { updatePortalPreferences(input: "
              "{showProjectsAndTimesheets: true}) { errors { code } } }",
              token=world.tokens["admin"])  # fmt: skip
    mine = await gql(client, LIST, token=world.tokens["contact_a"])
    assert mine["data"]["projects"]["totalCount"] == 6
    assert mine["data"]["projects"]["nodes"][-1]["loggedHours"] == "2.25"
    other = await gql(client, LIST, token=world.tokens["contact_b"])
    assert other["data"]["projects"]["totalCount"] == 0


INVOICE_TIME = """mutation($project: ID!, $upTo: Date) { invoiceProjectTime(input: {
  projectId: $project, upTo: $upTo}) {
  invoice { number status total { amount currency }
    lineItems { name description quantity unit rate amount { amount } } }
  project { billedHours unbilledHours timeEntries { hours billed } }
  errors { code field } } }"""
HOURS = """{ projects { nodes { billedHours unbilledHours } } }"""


async def _hourly_project(client, world: World, rate: str = "85") -> str:
    body = await gql(client, CREATE.replace('"85"', f'"{rate}"'),
                     {"customer": gid("Customer", world.customer_a)},
                     token=world.tokens["staff"])  # fmt: skip
    return body["data"]["createProject"]["project"]["id"]


async def _log(client, world: World, project: str, day: str, minutes: int) -> None:
    body = await gql(client, LOG.replace("2026-11-18", day),
                     {"project": project, "minutes": minutes},
                     token=world.tokens["staff"])  # fmt: skip
    assert body["data"]["logTime"]["errors"] == []


async def test_staff_invoice_a_projects_unbilled_time(client, world: World) -> None:
    staff = world.tokens["staff"]
    project = await _hourly_project(client, world, rate="100")
    nothing = await gql(client, INVOICE_TIME, {"project": project}, token=staff)
    assert nothing["data"]["invoiceProjectTime"]["errors"] == [
        {"code": "NOTHING_TO_BILL", "field": None}
    ]
    await _log(client, world, project, "2026-11-10", 90)
    await _log(client, world, project, "2026-11-12", 10)  # 1/6 h: 0.1667 h billed
    await _log(client, world, project, "2026-11-20", 60)

    body = await gql(client, INVOICE_TIME, {"project": project, "upTo": "2026-11-15"},
                     token=staff)  # fmt: skip
    result = body["data"]["invoiceProjectTime"]
    assert result["errors"] == []
    invoice = result["invoice"]
    assert invoice["status"] == "DRAFT" and invoice["number"] == "INV-000001"
    assert invoice["lineItems"] == [
        {"name": "Office fit-out", "description": "2026-11-10 - Wiring", "quantity": "1.5000",
         "unit": "h", "rate": "100.000000", "amount": {"amount": "150.00"}},
        {"name": "Office fit-out", "description": "2026-11-12 - Wiring", "quantity": "0.1667",
         "unit": "h", "rate": "100.000000", "amount": {"amount": "16.67"}},
    ]  # fmt: skip
    assert invoice["total"] == {"amount": "166.67", "currency": "USD"}
    assert result["project"]["billedHours"] == "1.67"
    assert result["project"]["unbilledHours"] == "1.00"

    rest = await gql(client, INVOICE_TIME, {"project": project}, token=staff)
    second = rest["data"]["invoiceProjectTime"]
    assert [line["quantity"] for line in second["invoice"]["lineItems"]] == ["1.0000"]
    assert second["project"]["unbilledHours"] == "0.00"
    again = await gql(client, INVOICE_TIME, {"project": project}, token=staff)
    assert again["data"]["invoiceProjectTime"]["errors"] == [
        {"code": "NOTHING_TO_BILL", "field": None}
    ]

    # Contacts who see projects see what was billed.
    await gql(client, "mutation { updatePortalPreferences(input: "
              "{showProjectsAndTimesheets: true}) { errors { code } } }",
              token=world.tokens["admin"])  # fmt: skip
    seen = await gql(client, HOURS, token=world.tokens["contact_a"])
    assert seen["data"]["projects"]["nodes"] == [{"billedHours": "2.67", "unbilledHours": "0.00"}]
    refused = await gql(client, INVOICE_TIME, {"project": project}, token=world.tokens["contact_a"])
    assert error_codes(refused) == ["FORBIDDEN"]

    # Voiding an invoice leaves its time to bill again.
    from models.documents import SalesDocument

    first = await SalesDocument.get(number="INV-000001")
    void = "mutation($id: ID!) { voidSalesDocument(input: {id: $id}) { errors { code } } }"
    await gql(client, void, {"id": gid("Invoice", first)}, token=staff)
    seen = await gql(client, HOURS, token=world.tokens["contact_a"])
    assert seen["data"]["projects"]["nodes"] == [{"billedHours": "1.00", "unbilledHours": "1.67"}]


async def test_fixed_cost_projects_and_other_organizations_projects_are_refused(
    client, world: World
) -> None:
    from models.projects import TimeEntry

    staff = world.tokens["staff"]
    fixed = CREATE.replace("billingMethod: HOURLY", "billingMethod: FIXED_COST")
    body = await gql(client, fixed, {"customer": gid("Customer", world.customer_a)}, token=staff)
    project = body["data"]["createProject"]["project"]["id"]
    await _log(client, world, project, "2026-11-10", 60)
    refused = await gql(client, INVOICE_TIME, {"project": project}, token=staff)
    assert refused["data"]["invoiceProjectTime"]["errors"] == [
        {"code": "NOT_BILLED_HOURLY", "field": ["projectId"]}
    ]
    hourly = await _hourly_project(client, world)
    await _log(client, world, hourly, "2026-11-10", 60)
    other = await gql(client, INVOICE_TIME, {"project": hourly},
                      token=world.tokens["staff_other_org"])  # fmt: skip
    assert other["data"]["invoiceProjectTime"]["errors"] == [
        {"code": "NOT_FOUND", "field": ["projectId"]}
    ]
    assert await TimeEntry.filter(billed=True).count() == 0


async def test_concurrent_invoicing_never_bills_time_twice(client, world: World) -> None:
    import asyncio

    from strawberry.relay import GlobalID

    from auth.principals import StaffPrincipal
    from models.documents import LineItem
    from models.projects import TimeEntry
    from resolvers import projects
    from resolvers.errors import Rejected

    project = await _hourly_project(client, world)
    for day in ("2026-11-10", "2026-11-11", "2026-11-12"):
        await _log(client, world, project, day, 60)
    project_id = int(GlobalID.from_id(project).node_id)
    principal = StaffPrincipal(world.staff)

    async def attempt() -> bool:
        try:
            await projects.invoice_time(principal, project_id, up_to=None)
        except Rejected:
            return False
        return True

    outcomes = await asyncio.gather(*(attempt() for _ in range(4)))
    assert outcomes.count(True) == 1
    assert await LineItem.all().count() == 3
    invoice_ids = set(await TimeEntry.filter(billed=True).values_list("invoice_id", flat=True))
    assert len(invoice_ids) == 1 and await TimeEntry.filter(billed=False).count() == 0
