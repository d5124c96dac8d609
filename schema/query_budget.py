"""Partners' query budgets: the cost of each operation (schema.query_cost), checked against a
maximum and charged to the API key's bucket (integrations.query_budgets) before it runs.

- An operation over MAX_COST is refused whole with QUERY_TOO_COSTLY: nothing runs, nothing is
  charged.
- Otherwise its cost is taken from the key's bucket (PORTICO_API_KEY_BUDGET points, refilling
  PORTICO_API_KEY_BUDGET_REFILL a second); when the bucket holds less,
  it is refused with BUDGET_EXHAUSTED, HTTP 429 and a Retry-After header, and nothing runs.
- Every partner response says what it cost in `extensions.cost`.

Staff and portal contacts use Portico's own front ends, whose operations are known; their
requests are neither costed nor charged. Nor are subscriptions: their documents are checked
like any other (depth, aliases, tokens) and each event runs the same selection once.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from starlette.responses import Response
from strawberry.extensions import SchemaExtension

from auth.principals import PartnerPrincipal
from integrations.query_budgets import Charge, Rate
from schema.cost_limit import MAX_COST
from schema.query_cost import operation_cost

QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY"
BUDGET_EXHAUSTED = "BUDGET_EXHAUSTED"


class QueryBudget(SchemaExtension):
    report: dict[str, Any] | None = None

    async def on_execute(self) -> AsyncIterator[None]:
        execution = self.execution_context
        context = execution.context
        principal = getattr(context, "principal", None)
        budgets = getattr(context, "query_budgets", None)
        document = execution.graphql_document
        if (
            not isinstance(principal, PartnerPrincipal)
            or budgets is None
            or document is None
            or execution.result is not None  # already refused (schema.edge.OneOperation)
        ):
            yield
            return
        cost = operation_cost(
            execution.schema._schema, document, execution.operation_name, execution.variables
        )
        if cost is None:
            yield
            return
        key = f"api-key:{principal.api_key.id}"
        if cost > MAX_COST:
            # Charged nothing: asked only to tell what is left.
            charge = await budgets.charge(key, 0)
            execution.result = _refused(
                f"This operation costs {cost:,} points, more than the {MAX_COST:,} one "
                "operation may cost: ask for smaller pages (`first`) or fewer nested lists.",
                QUERY_TOO_COSTLY,
                cost,
            )
        else:
            charge = await budgets.charge(key, cost)
            if not charge.allowed:
                retry_after = max(1, math.ceil(charge.retry_after))
                execution.result = _refused(
                    f"This operation costs {cost:,} points and the API key's budget holds "
                    f"{charge.remaining:,}: try again in {retry_after} s.",
                    BUDGET_EXHAUSTED,
                    cost,
                )
                _too_many_requests(context.response, retry_after)
        self.report = _report(cost, charge, budgets.rate)
        yield

    def get_results(self) -> dict[str, Any]:
        return {"cost": self.report} if self.report is not None else {}


def _refused(message: str, code: str, cost: int) -> GraphQLExecutionResult:
    error = GraphQLError(message, extensions={"code": code, "cost": cost, "maxCost": MAX_COST})
    return GraphQLExecutionResult(data=None, errors=[error])


def _too_many_requests(response: object, retry_after: int) -> None:
    # Over HTTP only: a websocket's other operations go on.
    if isinstance(response, Response):
        response.status_code = 429
        response.headers["Retry-After"] = str(retry_after)


def _report(cost: int, charge: Charge, rate: Rate) -> dict[str, Any]:
    return {
        "requested": cost,
        "maxCost": MAX_COST,
        "limit": rate.capacity,
        "remaining": charge.remaining,
        "refillRate": rate.refill_per_second,
    }
