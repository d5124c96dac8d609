"""What Portico notes about the request it is handling: one record per HTTP request or websocket
connection, kept in a context variable, filled in by whoever knows a part (the endpoint the
principal, the schema the operation, the database client the statements) and read once at the
end by the request log and the metrics (server.request_log).

The record is mutable and shared: tasks started while handling the request copy the context,
and so write to the same record. Outside a request (delivery loops, the CLI) there is none.
"""

from __future__ import annotations

from contextvars import ContextVar, Token

from auth.principals import Anonymous, ContactPrincipal, PartnerPrincipal, Principal, StaffPrincipal

PRINCIPAL_KINDS: dict[type, str] = {
    Anonymous: "anonymous",
    ContactPrincipal: "contact",
    StaffPrincipal: "staff",
    PartnerPrincipal: "api_key",
}
# A GraphQL name may be as long as the token limit allows; a log line needs no more than this.
MAX_OPERATION_NAME = 100


class RequestRecord:
    __slots__ = (
        "error_codes",
        "method",
        "operation_name",
        "operation_type",
        "path",
        "principal",
        "registered",
        "request_id",
        "sql_statements",
        "status",
    )

    def __init__(self, request_id: str, method: str, path: str) -> None:
        self.request_id = request_id
        self.method = method
        self.path = path  # already redacted, never with its query string
        self.status = 0
        self.principal = "anonymous"
        self.operation_name: str | None = None
        self.operation_type: str | None = None
        # The operation's document is in the trusted registry: its name may label metrics.
        self.registered = False
        self.error_codes: list[str] = []
        self.sql_statements = 0


_current: ContextVar[RequestRecord | None] = ContextVar("portico_request", default=None)


def current() -> RequestRecord | None:
    return _current.get()


def current_request_id() -> str | None:
    record = _current.get()
    return None if record is None else record.request_id


def begin(record: RequestRecord) -> Token[RequestRecord | None]:
    return _current.set(record)


def end(token: Token[RequestRecord | None]) -> None:
    _current.reset(token)


def note_principal(principal: Principal) -> None:
    record = _current.get()
    if record is not None:
        record.principal = PRINCIPAL_KINDS.get(type(principal), "anonymous")


def note_operation(name: str | None, kind: str, *, registered: bool) -> None:
    record = _current.get()
    if record is not None:
        record.operation_name = name[:MAX_OPERATION_NAME] if name else None
        record.operation_type = kind
        record.registered = registered


def note_error_codes(codes: list[str]) -> None:
    record = _current.get()
    if record is not None:
        record.error_codes.extend(codes)


def count_statement() -> None:
    record = _current.get()
    if record is not None:
        record.sql_statements += 1
