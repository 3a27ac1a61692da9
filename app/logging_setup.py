"""Logging for every process (``computehub run``, ``worker``, the CLI), configured once at start.

Text lines by default; ``COMPUTEHUB_LOG_FORMAT=json`` writes one JSON object a line (time, level,
logger, message, request_id, exc_info) for log collectors in production. Every record carries the
request id of the HTTP request it was written in ("-" outside requests).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from app.web.request_id import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
FORMATS = ("text", "json")


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (unless the call passed one in ``extra``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or "-",
        }
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(log_format: str = "text", level: int = logging.INFO) -> None:
    """Replace the root handlers with one stderr handler in the chosen format."""
    if log_format not in FORMATS:
        raise ValueError(f"COMPUTEHUB_LOG_FORMAT must be one of {', '.join(FORMATS)}, not {log_format!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # uvicorn's loggers write through the root handler too (it runs with log_config=None).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    # The job engine logs every job at INFO; our tasks log what they did.
    logging.getLogger("procrastinate").setLevel(max(level, logging.WARNING))
