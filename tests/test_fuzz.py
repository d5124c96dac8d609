"""Requests generated from the schema, as a careless or hostile client might send them: every
root field, with arbitrary arguments (NUL characters, huge numbers, odd dates), and documents
that do not validate, as anonymous, staff and portal contact. None may fail on the server.

Generation is seeded, so a failure comes back on the next run; the failing document is in the
assertion message."""

from __future__ import annotations

import functools
import logging

import hypothesis_graphql as generated
import pytest
from graphql import GraphQLSchema, build_schema
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis_graphql import nodes

from auth.sessions import SessionPolicy, start_session
from server.settings import Settings
from tests.conftest import World
from tests.databases import made_once

SCHEMA_FILE = "schema.graphql"
PER_FIELD = 3
INVALID_PER_FIELD = 1
SCALARS = {
    "Date": st.one_of(st.dates().map(str), st.text(max_size=12)).map(nodes.String),
    "DateTime": st.one_of(
        st.datetimes().map(lambda moment: moment.isoformat() + "Z"), st.text(max_size=25)
    ).map(nodes.String),
    "Decimal": st.one_of(st.decimals().map(str), st.text(max_size=30)).map(nodes.String),
    "Upload": st.just(nodes.Null),
}


@functools.cache
def documents() -> tuple[str, ...]:
    """Generated once per run (seconds of CPU), whichever worker runs a backend's test."""
    return tuple(made_once("fuzz-documents", _generate))


def _generate() -> list[str]:
    schema = build_schema(open(SCHEMA_FILE).read())  # noqa: SIM115 - read once per run
    found: list[str] = []
    for kind, root in ((generated.queries, schema.query_type),
                       (generated.mutations, schema.mutation_type)):  # fmt: skip
        assert root is not None
        for name in root.fields:
            found += _examples(schema, kind, name, generated.Mode.POSITIVE, PER_FIELD)
            found += _examples(schema, kind, name, generated.Mode.NEGATIVE, INVALID_PER_FIELD)
    return list(dict.fromkeys(found))


def _examples(schema: GraphQLSchema, kind, name: str, mode, count: int) -> list[str]:
    examples: list[str] = []

    @settings(max_examples=count, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck), deadline=None)  # fmt: skip
    @given(kind(schema, fields=[name], custom_scalars=SCALARS, mode=mode))
    def collect(document: str) -> None:
        examples.append(document)

    try:
        collect()
    except InvalidArgument:  # nothing to get wrong: a field without arguments
        assert mode == generated.Mode.NEGATIVE
    return examples


@pytest.mark.slow
async def test_no_generated_request_fails_on_the_server(
    client, db: Settings, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    policy = SessionPolicy.from_settings(db)
    failures: list[str] = []
    for document in documents():
        # A fresh session each time: a generated logout or password change must not leave the
        # rest of the run anonymous.
        tokens = [None, (await start_session(policy, staff_user=world.admin))[0],
                  (await start_session(policy, contact=world.contact_a))[0]]  # fmt: skip
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            response = await client.post("/graphql", json={"query": document}, headers=headers)
            codes = [e.get("extensions", {}).get("code") for e in _errors(response)]
            if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes:
                failures.append(f"{response.status_code} {codes} as {bool(token)}:\n{document}")
    logged = [record.getMessage() for record in caplog.records]
    assert failures == [] and logged == [], (failures[:3], logged[:3])
    assert len(documents()) > 300  # every root field, several times


def _errors(response) -> list[dict]:
    try:
        return response.json().get("errors") or []
    except ValueError:
        return []
