"""Registered queries run on the planned path (schema.planned), which must answer exactly what
graphql-core answers: the same data, the same nulls, the same errors in the same order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import strawberry
from graphql import OperationDefinitionNode, OperationType, parse
from strawberry.permission import BasePermission

from schema.execution import PorticoExecution
from schema.planned import PlannedFields
from server import document_commands

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = sorted((ROOT / "documents").glob("*.graphql"))

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

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        if any(self is executor for executor in seen.executors):
            seen.planned += 1
        return execute_planned_fields(self, *args, **kwargs)

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
    monkeypatch.setattr(PorticoExecution, "build", classmethod(building))
    return seen


# -- what the front ends send ------------------------------------------------------------------


def operations_of(text: str) -> list[OperationDefinitionNode]:
    return [d for d in parse(text).definitions if isinstance(d, OperationDefinitionNode)]


def test_every_front_end_document_registers() -> None:
    assert {path.name for path in DOCUMENTS} >= {"portal.graphql", "staff.graphql"}
    candidates = document_commands.read(DOCUMENTS)  # refuses any that would not run
    for candidate in candidates:
        names = [operation.name for operation in operations_of(candidate.text)]
        assert all(names), f"{candidate.source}: every operation needs a name"
        kinds = {operation.operation for operation in operations_of(candidate.text)}
        assert kinds == {OperationType.QUERY}, candidate.source


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
