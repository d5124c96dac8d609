"""`portico documents register | list | remove`: the trusted registry of GraphQL documents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from models.persisted_queries import PersistedQuery
from resolvers.persisted_queries import sha256_of
from server import document_commands
from server.document_commands import Refused
from server.settings import Settings
from tests import test_cli
from tests.conftest import World, app_client, error_codes
from tests.databases import Templates
from tests.test_cli import portico

# Two operations sharing a fragment, with Windows line endings and a final newline: the file's
# exact text is the document clients send.
INVOICES = (
    "query Invoices { salesDocuments(first: 10) { nodes { ...Row } } }\r\n"
    "query Overdue { salesDocuments(filter: {overdue: true}) { nodes { ...Row } } }\r\n"
    "fragment Row on SalesDocument { number }\r\n"
)
VIEWER = "query Viewer { viewer { __typename } }"
HOME = "query { portalHome { bannerMessage } }"
DEEP = "contactPersons { customer { " * 5 + "displayName" + " } }" * 5


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode())
    return path


async def test_a_file_is_registered_as_one_document_of_its_exact_text(
    db: Settings, world: World, tmp_path: Path
) -> None:
    path = write(tmp_path / "invoices.graphql", INVOICES)
    candidates = document_commands.read([path])
    [registered] = await document_commands.register(candidates)
    assert registered.sha256 == sha256_of(INVOICES)
    assert registered.operations == "Invoices, Overdue"
    assert registered.new
    again = await document_commands.register(document_commands.read([path]))
    assert [entry.new for entry in again] == [False]
    assert await PersistedQuery.all().count() == 1
    async with app_client(db) as http:
        by_hash = {"version": 1, "sha256Hash": registered.sha256}
        response = await http.post(
            "/graphql",
            json={"extensions": {"persistedQuery": by_hash}, "operationName": "Invoices"},
            headers={"Authorization": f"Bearer {world.tokens['contact_a']}"},
        )
        assert response.json() == {"data": {"salesDocuments": {"nodes": []}}}
    async with app_client(db, trusted_documents="contacts") as http:
        response = await http.post(
            "/graphql",
            json={"query": INVOICES, "operationName": "Overdue"},
            headers={"Authorization": f"Bearer {world.tokens['contact_a']}"},
        )
        assert response.json() == {"data": {"salesDocuments": {"nodes": []}}}
        stripped = INVOICES.replace("\r\n", "\n")
        response = await http.post(
            "/graphql",
            json={"query": stripped, "operationName": "Overdue"},
            headers={"Authorization": f"Bearer {world.tokens['contact_a']}"},
        )
        assert error_codes(response.json()) == ["DOCUMENT_NOT_REGISTERED"]


async def test_a_manifest_registers_each_of_its_documents(db: Settings, tmp_path: Path) -> None:
    manifest = {sha256_of(VIEWER): VIEWER, sha256_of(HOME).upper(): HOME}
    path = write(tmp_path / "persisted-documents.json", json.dumps(manifest))
    registered = await document_commands.register(document_commands.read([path]))
    assert {(entry.sha256, entry.operations) for entry in registered} == {
        (sha256_of(VIEWER), "Viewer"),
        (sha256_of(HOME), "(anonymous)"),
    }
    listed = await document_commands.listing()
    assert len(listed) == 2
    assert any(line.startswith(sha256_of(VIEWER)) and line.endswith("Viewer") for line in listed)
    assert all(" UTC " in line for line in listed)


async def test_documents_kept_for_automatic_persisted_queries_are_not_listed_until_registered(
    db: Settings, world: World, tmp_path: Path
) -> None:
    async with app_client(db) as http:
        persisted = {"version": 1, "sha256Hash": sha256_of(VIEWER)}
        await http.post(
            "/graphql",
            json={"query": VIEWER, "extensions": {"persistedQuery": persisted}},
            headers={"Authorization": f"Bearer {world.tokens['staff']}"},
        )
    assert await PersistedQuery.all().count() == 1
    assert await document_commands.listing() == []
    path = write(tmp_path / "viewer.graphql", VIEWER)
    [registered] = await document_commands.register(document_commands.read([path]))
    assert registered.new
    assert len(await document_commands.listing()) == 1


async def test_remove_takes_a_document_out_of_the_registry(db: Settings, tmp_path: Path) -> None:
    path = write(tmp_path / "viewer.graphql", VIEWER)
    await document_commands.register(document_commands.read([path]))
    assert await document_commands.remove(sha256_of(VIEWER).upper())
    assert not await document_commands.remove(sha256_of(VIEWER))
    assert await document_commands.listing() == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("syntax.graphql", "query { viewer { __typename }", "Syntax Error"),
        ("unknown.graphql", "query {\n  nosuchfield\n}", "nosuchfield' on type 'Query'. (line 2"),
        ("empty.graphql", "", "Syntax Error"),
        ("deep.graphql", "{ customers { nodes { %s } } }" % DEEP, "depth"),
        ("nul.graphql", "{ __typename } # \x00", "NUL"),
        (
            "login.graphql",
            'mutation { logout { errors { code } } login(input: {email: "a", '
            'password: "b"}) { token } }',
            "alone",
        ),
        ("wrong-key.json", json.dumps({sha256_of(HOME): VIEWER}), "hashAlgorithm"),
        ("sha1.json", json.dumps({"0" * 40: VIEWER}), "not the SHA-256"),
        ("list.json", json.dumps([VIEWER]), "manifest is an object"),
        ("broken.json", "{", "is not JSON"),
        ("number.json", json.dumps({sha256_of(VIEWER): 5}), "must be a string"),
        ("invalid.json", json.dumps({sha256_of("{ x }"): "{ x }"}), "Cannot query field 'x'"),
    ],
)
async def test_nothing_is_registered_when_a_document_would_not_run(
    db: Settings, tmp_path: Path, name: str, content: str, expected: str
) -> None:
    good = write(tmp_path / "viewer.graphql", VIEWER)
    bad = write(tmp_path / name, content)
    with pytest.raises(Refused) as refused:
        document_commands.read([good, bad])
    assert len(refused.value.problems) == 1
    assert refused.value.problems[0].startswith(str(bad)), refused.value.problems
    assert expected in refused.value.problems[0], refused.value.problems
    assert await PersistedQuery.all().count() == 0


def test_an_unreadable_file_is_refused(tmp_path: Path) -> None:
    not_utf8 = tmp_path / "latin1.graphql"
    not_utf8.write_bytes("{ __typename } # caf\xe9".encode("latin-1"))
    with pytest.raises(Refused) as refused:
        document_commands.read([tmp_path / "missing.graphql", not_utf8])
    assert [problem.split(":")[0] for problem in refused.value.problems] == [
        str(tmp_path / "missing.graphql"),
        str(not_utf8),
    ]


# -- the command, as operators run it ----------------------------------------------------------


@pytest.fixture
def migrated(tmp_path: Path, templates: Templates) -> dict[str, str]:
    env = {
        "PORTICO_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite://{tmp_path}/var/cli.sqlite3",
    }
    return test_cli.migrated(env, templates)


@pytest.mark.slow
def test_the_documents_command_registers_lists_and_removes(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    files = [write(tmp_path / "invoices.graphql", INVOICES), write(tmp_path / "v.graphql", VIEWER)]
    first = portico("documents", "register", *map(str, files), env=migrated)
    assert first.stdout.splitlines() == [
        f"{sha256_of(INVOICES)}  registered  Invoices, Overdue  {files[0]}",
        f"{sha256_of(VIEWER)}  registered  Viewer  {files[1]}",
    ]
    again = portico("documents", "register", str(files[1]), env=migrated)
    assert again.stdout == f"{sha256_of(VIEWER)}  already registered  Viewer  {files[1]}\n"
    listed = portico("documents", "list", env=migrated).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [sha256_of(INVOICES), sha256_of(VIEWER)]
    removed = portico("documents", "remove", sha256_of(VIEWER), env=migrated)
    assert removed.stdout == f"Removed {sha256_of(VIEWER)}.\n"
    gone = portico("documents", "remove", sha256_of(VIEWER), env=migrated, check=False)
    assert gone.returncode == 1
    assert "no registered document has the hash" in gone.stderr
    listed = portico("documents", "list", env=migrated).stdout.splitlines()
    assert [line.split()[0] for line in listed] == [sha256_of(INVOICES)]


@pytest.mark.slow
def test_a_document_that_does_not_validate_exits_with_status_2(
    migrated: dict[str, str], tmp_path: Path
) -> None:
    good = write(tmp_path / "viewer.graphql", VIEWER)
    bad = write(tmp_path / "bad.graphql", "query Bad {\n  nosuchfield\n}\n")
    result = portico("documents", "register", str(good), str(bad), env=migrated, check=False)
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"portico: {bad}: Cannot query field 'nosuchfield' on type 'Query'. (line 2, column 3)",
        "portico: nothing was registered.",
    ]
    assert portico("documents", "list", env=migrated).stdout == ""
