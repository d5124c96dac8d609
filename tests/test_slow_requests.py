"""A request body must arrive within PORTICO_BODY_TIMEOUT_SECONDS of the request's start; a
client trickling it gets a 408 instead of holding the connection (and a shutdown) for ever."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.settings import ConfigurationError, Settings
from tests.conftest import app_client

BODY = json.dumps({"query": "{ __typename }"}).encode()


async def trickled(pause: float, pieces: int = 4) -> AsyncIterator[bytes]:
    size = -(-len(BODY) // pieces)
    for start in range(0, len(BODY), size):
        yield BODY[start : start + size]
        await asyncio.sleep(pause)


async def test_a_body_slower_than_the_deadline_gets_408(db: Settings) -> None:
    async with app_client(db, body_timeout_seconds=0.5) as http:
        started = time.monotonic()
        response = await http.post(
            "/graphql",
            content=trickled(pause=1.0),
            headers={"content-type": "application/json", "content-length": str(len(BODY))},
        )
        assert time.monotonic() - started < 1.0
    assert response.status_code == 408
    assert response.headers["connection"] == "close"
    assert response.json() == {
        "errors": [
            {
                "message": "The request body did not arrive within 0.5 seconds.",
                "extensions": {"code": "REQUEST_TIMEOUT"},
            }
        ]
    }


async def test_a_slow_body_within_the_deadline_is_served(db: Settings) -> None:
    async with app_client(db, body_timeout_seconds=2) as http:
        response = await http.post(
            "/graphql", content=trickled(pause=0.1), headers={"content-type": "application/json"}
        )
    assert response.status_code == 200
    assert response.json() == {"data": {"__typename": "Query"}}


@pytest.mark.parametrize(
    ("name", "attribute", "default"),
    [
        ("PORTICO_BODY_TIMEOUT_SECONDS", "body_timeout_seconds", 60),
        ("PORTICO_SHUTDOWN_TIMEOUT_SECONDS", "shutdown_timeout_seconds", 30),
    ],
)
def test_the_body_and_shutdown_timeouts_are_positive_numbers_of_seconds(
    name: str, attribute: str, default: float, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PORTICO_VAR_DIR", str(tmp_path))
    assert getattr(Settings.from_env(), attribute) == default
    for wrong in ("0", "-5", "a minute"):
        monkeypatch.setenv(name, wrong)
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env()
    monkeypatch.setenv(name, "7.5")
    assert getattr(Settings.from_env(), attribute) == 7.5
