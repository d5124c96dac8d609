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
