"""The `UserError` payload type and the rule for what unexpected errors may reveal."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from graphql import GraphQLError

from auth.errors import CodedError
from resolvers.errors import ErrorCode, Rejected
from resolvers.errors import UserError as Problem

logger = logging.getLogger("portico.graphql")

UserErrorCode = strawberry.enum(ErrorCode, name="UserErrorCode")


@strawberry.type(description="Why a mutation refused the request; nothing was changed.")
class UserError:
    field: list[str] | None = strawberry.field(
        description="Path to the input field at fault, in camelCase, when there is one."
    )
    message: str
    code: UserErrorCode  # type: ignore[valid-type]

    @classmethod
    def from_problem(cls, problem: Problem) -> UserError:
        return cls(
            field=list(problem.field) if problem.field else None,
            message=problem.message,
            code=problem.code,
        )


P = TypeVar("P")


async def payload_or_errors(payload: Callable[..., P], action: Callable[[], Awaitable[dict]]) -> P:
    """Run a use case; a refusal becomes the payload's `errors`, success its other fields."""
    try:
        result = await action()
    except Rejected as refused:
        return payload(errors=[UserError.from_problem(p) for p in refused.errors])
    return payload(errors=[], **result)


def is_expected(error: GraphQLError) -> bool:
    """Parse/validation errors and our coded errors are for the client; anything else is masked."""
    original = error.original_error
    return original is None or isinstance(original, CodedError)


def should_mask(error: GraphQLError) -> bool:
    return not is_expected(error)


def variable_error(error: GraphQLError) -> GraphQLError:
    """A variable value the schema cannot take is the client's mistake: graphql-core's message,
    with BAD_USER_INPUT. Only an exception other than a GraphQL error, a fault in a scalar's
    parser, stays unexpected (and masked)."""
    cause = error.original_error
    while isinstance(cause, GraphQLError):
        cause = cause.original_error
    if cause is not None:
        return error
    return GraphQLError(error.message, error.nodes, extensions={"code": "BAD_USER_INPUT"})
