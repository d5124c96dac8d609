"""What `portico documents ...` does: the trusted registry of GraphQL documents.

A `.json` file is a manifest in GraphQL Codegen's persisted documents format (client preset,
`persistedDocuments` with `hashAlgorithm: 'sha256'`): `{"<sha256>": "<document text>", ...}`.
Any other file is one document: its whole text, exactly as it is (line endings and the final
newline included), is what clients send and what its hash is taken of. Nothing is registered
unless every document given parses and validates against the schema within its limits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from graphql import GraphQLError, OperationDefinitionNode, parse

from resolvers import persisted_queries
from resolvers.persisted_queries import sha256_of

if TYPE_CHECKING:
    import strawberry

MANIFEST_SUFFIX = ".json"


@dataclass(frozen=True)
class Candidate:
    """A document to register, and where it came from (a file, or a manifest's entry)."""

    source: str
    text: str


@dataclass(frozen=True)
class Registered:
    sha256: str
    operations: str
    new: bool
    source: str


class Refused(Exception):
    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read(paths: list[Path]) -> list[Candidate]:
    """The documents in the files, each checked against the schema; Refused names every
    problem of every file."""
    candidates: list[Candidate] = []
    problems: list[str] = []
    for path in paths:
        try:
            text = path.read_bytes().decode("utf-8")  # bytes: newlines stay as they are
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read as UTF-8 text ({exc}).")
            continue
        if path.suffix == MANIFEST_SUFFIX:
            found, wrong = _manifest_entries(path, text)
            candidates.extend(found)
            problems.extend(wrong)
        else:
            candidates.append(Candidate(str(path), text))
    # Only registering checks documents against the schema, whose import costs most of a second
    # of CPU that `documents list` and `remove` need not spend.
    from schema.root import build_schema

    schema = build_schema()
    for candidate in candidates:
        problems.extend(_problems(schema, candidate))
    if problems:
        raise Refused(problems)
    return candidates


async def register(candidates: list[Candidate]) -> list[Registered]:
    registered = []
    for candidate in candidates:
        sha256, new = await persisted_queries.register(candidate.text)
        registered.append(Registered(sha256, operations_of(candidate.text), new, candidate.source))
    return registered


async def listing() -> list[str]:
    return [
        f"{row.sha256}  {row.registered_at:%Y-%m-%d %H:%M} UTC  {operations_of(row.text)}"
        for row in await persisted_queries.registered()
    ]


async def remove(sha256: str) -> bool:
    return await persisted_queries.remove(sha256.lower())


def operations_of(text: str) -> str:
    names = [
        definition.name.value if definition.name else "(anonymous)"
        for definition in parse(text).definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    return ", ".join(names)


def _manifest_entries(path: Path, text: str) -> tuple[list[Candidate], list[str]]:
    try:
        manifest = json.loads(text)
    except (ValueError, RecursionError):
        return [], [f"{path}: is not JSON."]
    if not isinstance(manifest, dict):
        return [], [f'{path}: a manifest is an object, {{"<sha256>": "<document>", ...}}.']
    candidates, problems = [], []
    for key, document in manifest.items():
        source = f"{path} [{key}]"
        if not isinstance(document, str):
            problems.append(f"{source}: the document must be a string.")
        elif key.lower() != sha256_of(document):
            problems.append(
                f"{source}: the key is not the SHA-256 of its document (GraphQL Codegen: "
                "set persistedDocuments.hashAlgorithm to 'sha256')."
            )
        else:
            candidates.append(Candidate(source, document))
    return candidates, problems


def _problems(schema: strawberry.Schema, candidate: Candidate) -> list[str]:
    from schema.root import document_errors

    if "\x00" in candidate.text:
        return [f"{candidate.source}: contains a NUL character."]
    errors = document_errors(schema, candidate.text)
    return [_described(candidate.source, error) for error in errors]


def _described(source: str, error: GraphQLError) -> str:
    places = error.locations or ()
    where = ", ".join(f"line {place.line}, column {place.column}" for place in places)
    return f"{source}: {error.message}" + (f" ({where})" if where else "")
