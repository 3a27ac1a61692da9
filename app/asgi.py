"""ASGI entry point: ``uvicorn app.asgi:app``."""

from app.server import create_app

app = create_app()
