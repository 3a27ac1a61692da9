"""JSON API under /api/v1."""

API_HANDLERS: list = []
