import httpx


async def test_healthz_and_readyz_report_ok(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


def test_the_access_log_never_shows_a_public_link_secret() -> None:
    import logging

    from server.access_log import RedactLinkSecrets

    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/public/pl_s3cr3t/pdf?visit=pv_x", "1.1", 200), None,
    )  # fmt: skip
    RedactLinkSecrets().filter(record)
    assert "s3cr3t" not in record.getMessage() and "pv_x" not in record.getMessage()
    assert "/public/[secret]/pdf" in record.getMessage()
