"""Entry point for ASGI servers: `uvicorn server.asgi:app`."""

from server.app import create_app

app = create_app()
