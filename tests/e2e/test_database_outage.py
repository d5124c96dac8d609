"""PostgreSQL going away under a running `portico serve`: every request is told to come back
later, the log says so once per request, and service resumes when the database returns.

The cluster is the test's own: the session's shared one stays up for the other tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from server.demo import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.databases import DemoTemplates
from tests.e2e.processes import graphql, login, portico_env, serve
from tests.services import POSTGRES, PostgresServer, missing, postgres_cluster

CUSTOMERS = "{ customers { totalCount } }"
LOGIN = 'mutation { login(input: {email: "%s", password: "%s"}) { token } }' % (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[PostgresServer]:
    with postgres_cluster() as server:
        if server is None:
            missing(POSTGRES)
        yield server


def test_requests_get_503_while_postgresql_is_down_and_succeed_once_it_is_back(
    cluster: PostgresServer, demo_templates: DemoTemplates, tmp_path: Path
) -> None:
    # The run's demo installation, copied to the cluster: `portico migrate` and `portico demo`
    # cost seconds this test is not about (tests.test_cli runs them).
    demo_templates.postgres_install_into(tmp_path, cluster.url)
    env = portico_env(tmp_path, DATABASE_URL=cluster.url)
    log = tmp_path / "serve.log"
    with serve(env, log) as base:
        token = login(base, ADMIN_EMAIL, ADMIN_PASSWORD)
        invoice = graphql(base, "{ salesDocuments(first: 1) { nodes { pdfUrl } } }", token)
        pdf = invoice["data"]["salesDocuments"]["nodes"][0]["pdfUrl"].removeprefix(base)
        bearer = {"Authorization": f"Bearer {token}"}
        # The first download renders, at idle CPU priority (pdf.worker.start): on a machine busy
        # with other tests it waits for a free CPU.
        assert httpx.get(base + pdf, headers=bearer, timeout=120).status_code == 200

        cluster.stop()
        try:
            refused = [
                httpx.post(f"{base}/graphql", json={"query": CUSTOMERS}, headers=bearer),
                httpx.post(f"{base}/graphql", json={"query": LOGIN}),
                httpx.get(base + pdf, headers=bearer),
            ]
            assert httpx.get(f"{base}/readyz").status_code == 503
        finally:
            cluster.start()
        for response in refused:
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) > 0
            [error] = response.json()["errors"]
            assert error["extensions"] == {"code": "SERVICE_UNAVAILABLE"}
            assert error["message"]

        assert graphql(base, CUSTOMERS, token)["data"]["customers"]["totalCount"] == 12
        assert httpx.get(base + pdf, headers=bearer, timeout=120).status_code == 200

    written = log.read_text()
    assert "Traceback" not in written
    assert written.count("WARNING portico.unavailable") == len(refused)
