"""GraphQL errors for authentication, authorization and lookups; each carries `extensions.code`.

Business-rule failures are not errors of this kind: they are `UserError`s in mutation payloads.
"""

from graphql import GraphQLError


class CodedError(GraphQLError):
    code = "INTERNAL_SERVER_ERROR"
    default_message = "Unexpected error."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message, extensions={"code": self.code})


class Unauthenticated(CodedError):
    code = "UNAUTHENTICATED"
    default_message = "Log in to do this."


class Forbidden(CodedError):
    code = "FORBIDDEN"
    default_message = "You are not allowed to do this."


class NotFound(CodedError):
    code = "NOT_FOUND"
    default_message = "Not found."


class BadUserInput(CodedError):
    code = "BAD_USER_INPUT"
    default_message = "Invalid input."


class MfaEnrollmentRequired(CodedError):
    code = "MFA_ENROLLMENT_REQUIRED"
    default_message = "Set up multi-factor authentication first: the organization requires it."
