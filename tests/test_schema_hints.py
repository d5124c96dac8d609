"""Production gives no hints: no suggested names in errors anywhere, and no introspection in
production unless the operator turns it on."""

import logging
from typing import Any

import pytest

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
