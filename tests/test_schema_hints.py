"""Production gives no hints: no suggested names in errors anywhere, and no introspection in
production unless the operator turns it on."""

import logging
from pathlib import Path
from typing import Any

import pytest

from server.settings import Settings
from tests.conftest import World, app_client, error_codes, gql

CLIENT_CODES = {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT"}

# Each names something the schema has under a slightly different name, which graphql-core would
# answer with "Did you mean ...?". The misspelling itself stays in the message.
MISSPELLED: list[tuple[str, str, dict[str, Any] | None]] = [
    ("INVOIC", "{ salesDocuments(filter: {kinds: [INVOIC]}) { totalCount } }", None),
    (
        "INVOIC",
        "query($kinds: [DocumentKind!]) { salesDocuments(filter: {kinds: $kinds}) { totalCount } }",
        {"kinds": ["INVOIC"]},
    ),
    ("frist", "{ customers(frist: 1) { totalCount } }", None),
    ("serch", '{ customers(filter: {serch: "acorn"}) { totalCount } }', None),
    (
        "serch",
        "query($filter: CustomerFilter) { customers(filter: $filter) { totalCount } }",
        {"filter": {"serch": "acorn"}},
    ),
    ("CustomerFiltr", "query($f: CustomerFiltr) { customers(filter: $f) { totalCount } }", None),
    ("Custmer", "{ customers { nodes { ...F } } } fragment F on Custmer { id }", None),
    ("customerz", "{ customerz { totalCount } }", None),
    ("displayNam", "{ customers { nodes { displayNam } } }", None),
    ("skp", "{ customers { totalCount @skp(if: true) } }", None),
    ("iff", "{ customers { totalCount @skip(iff: true) } }", None),
]


@pytest.mark.parametrize("environment", ["development", "production"])
async def test_misspelled_names_get_no_suggestions(db, world: World, environment: str) -> None:
    async with app_client(db, environment=environment) as http:
        for misspelled, query, variables in MISSPELLED:
            body = await gql(http, query, variables, token=world.tokens["staff"])
            assert body.get("data") is None, query
            assert body["errors"], query
            for error in body["errors"]:
                assert "Did you mean" not in error["message"], (query, error)
                assert error["extensions"]["code"] in CLIENT_CODES, (query, error)
            assert any(misspelled in error["message"] for error in body["errors"]), body


UNFIT_VARIABLES: list[tuple[str, dict[str, Any]]] = [
    ("query($first: Int) { customers(first: $first) { totalCount } }", {"first": "many"}),
    (
        "query($from: Date) { salesDocuments(filter: {issuedFrom: $from}) { totalCount } }",
        {"from": "someday"},
    ),
    ("query($id: ID!) { node(id: $id) { id } }", {}),
]


@pytest.mark.parametrize(("query", "variables"), UNFIT_VARIABLES)
async def test_a_variable_the_schema_cannot_take_is_bad_user_input(
    client, world: World, caplog: pytest.LogCaptureFixture, query: str, variables: dict
) -> None:
    with caplog.at_level(logging.ERROR, logger="portico.graphql"):
        body = await gql(client, query, variables, token=world.tokens["staff"])
    assert error_codes(body) == ["BAD_USER_INPUT"]
    assert query.split("$")[1].split(":")[0] in body["errors"][0]["message"]
    assert "Traceback" not in caplog.text


SCHEMA_QUERY = "{ __schema { types { name } } }"
TYPE_QUERY = '{ __type(name: "Query") { name } }'
THROUGH_A_FRAGMENT = "query { ...Q } fragment Q on Query { __schema { queryType { name } } }"


async def test_production_refuses_introspection_to_everyone(db, world: World) -> None:
    async with app_client(db, environment="production") as http:
        for token in (None, world.tokens["staff"], world.tokens["admin"], world.tokens["partner"]):
            for query in (SCHEMA_QUERY, TYPE_QUERY, THROUGH_A_FRAGMENT):
                body = await gql(http, query, token=token)
                assert body.get("data") is None, (query, token)
                assert error_codes(body) == ["GRAPHQL_VALIDATION_FAILED"], body
                assert "introspection" in body["errors"][0]["message"].lower()
            body = await gql(http, "{ __typename }", token=token)
            assert body["data"] == {"__typename": "Query"}
            assert "errors" not in body
        body = await gql(http, "{ viewer { __typename } }", token=world.tokens["staff"])
        assert body == {"data": {"viewer": {"__typename": "StaffUser"}}}


async def test_development_allows_introspection(client, world: World) -> None:
    for token in (None, world.tokens["staff"]):
        body = await gql(client, SCHEMA_QUERY, token=token)
        assert "errors" not in body
        assert {"name": "Customer"} in body["data"]["__schema"]["types"]
        assert await gql(client, TYPE_QUERY, token=token) == {"data": {"__type": {"name": "Query"}}}


@pytest.mark.parametrize("changes", [{"introspection": True}, {"graphiql": True}])
async def test_the_setting_or_graphiql_turns_introspection_on_in_production(
    db, changes: dict[str, bool]
) -> None:
    async with app_client(db, environment="production", **changes) as http:
        assert await gql(http, TYPE_QUERY) == {"data": {"__type": {"name": "Query"}}}
        assert "errors" not in await gql(http, SCHEMA_QUERY)


async def test_an_introspection_validated_by_one_app_is_refused_by_another(db) -> None:
    # Validation results are cached across requests; the same text must still get each
    # app's own answer, in either order.
    async with (
        app_client(db, environment="development") as open_app,
        app_client(db, environment="production") as closed_app,
    ):
        for _ in range(2):
            assert await gql(open_app, TYPE_QUERY) == {"data": {"__type": {"name": "Query"}}}
            assert error_codes(await gql(closed_app, TYPE_QUERY)) == ["GRAPHQL_VALIDATION_FAILED"]


def _environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str, **variables: str
) -> None:
    for name in ("PORTICO_GRAPHIQL", "PORTICO_INTROSPECTION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTICO_ENV", environment)
    monkeypatch.setenv("PORTICO_SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    ("variables", "allowed"),
    [
        ({}, False),
        ({"PORTICO_INTROSPECTION": "true"}, True),
        ({"PORTICO_GRAPHIQL": "true"}, True),
        ({"PORTICO_GRAPHIQL": "true", "PORTICO_INTROSPECTION": "false"}, False),
    ],
)
def test_production_introspection_follows_its_variable_then_graphiql(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, variables: dict[str, str], allowed: bool
) -> None:
    _environment(monkeypatch, tmp_path, "production", **variables)
    assert Settings.from_env().allows_introspection is allowed


def test_development_introspection_is_on_unless_turned_off(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _environment(monkeypatch, tmp_path, "development", PORTICO_GRAPHIQL="false")
    assert Settings.from_env().allows_introspection is True
    monkeypatch.setenv("PORTICO_INTROSPECTION", "false")
    assert Settings.from_env().allows_introspection is False


async def test_graphiql_without_introspection_is_warned_about(
    db, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="portico.graphql"):
        async with app_client(db, environment="production", graphiql=True, introspection=False):
            pass
    assert "PORTICO_INTROSPECTION" in caplog.text
