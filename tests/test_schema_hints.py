"""Production gives no hints: no suggested names in errors anywhere, and no introspection in
production unless the operator turns it on."""

import logging
from typing import Any

import pytest

from tests.conftest import World, error_codes, gql

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
