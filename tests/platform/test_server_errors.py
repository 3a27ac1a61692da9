"""Every unhandled error is logged once with its traceback and the request id the answer shows."""

from __future__ import annotations

import json
import logging
import re

from litestar import get

from app.logging_setup import JsonFormatter, RequestIdFilter

SECRET = "sk_live_do_not_log_me"


class Boom(RuntimeError):
    pass


@get("/test-only/boom", include_in_schema=False)
async def boom_page() -> str:
    raise Boom("the page broke")


@get("/api/v1/test-only/boom", include_in_schema=False)
async def boom_api() -> dict:
    raise Boom("the API broke")


def _server_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]


async def test_a_page_that_raises_answers_the_error_page_with_a_logged_request_id(app, browser, caplog):
    app.register(boom_page)
    caplog.set_level(logging.INFO)

    response = await browser.get(f"/test-only/boom?token={SECRET}")

    assert response.status_code == 500
    assert "text/html" in response.headers["content-type"]
    request_id = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    assert request_id in response.text
    [record] = _server_errors(caplog)
    assert record.request_id == request_id
    assert record.exc_info[0] is Boom
    assert "GET /test-only/boom" in record.getMessage()
    assert SECRET not in record.getMessage()  # no query string, headers or body in the log


async def test_an_api_route_that_raises_answers_json_with_the_request_id(app, browser, caplog):
    app.register(boom_api)
    caplog.set_level(logging.INFO)

    response = await browser.get("/api/v1/test-only/boom")

    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == response.headers["x-request-id"]
    assert "broke" not in body["detail"]  # the exception text stays in the log
    [record] = _server_errors(caplog)
    assert record.request_id == body["request_id"] and record.exc_info[0] is Boom


async def test_every_response_has_its_own_request_id(browser):
    ids = {(await browser.get("/login")).headers["x-request-id"] for _ in range(3)}
    ids.add((await browser.get("/no-such-page")).headers["x-request-id"])
    assert len(ids) == 4


async def test_an_incoming_request_id_is_not_trusted(browser):
    response = await browser.get("/login", headers={"X-Request-ID": "forged\nline"})
    assert response.headers.get_list("x-request-id") != ["forged\nline"]
    assert len(response.headers.get_list("x-request-id")) == 1


def test_json_log_lines_carry_time_level_logger_message_request_id_and_traceback():
    try:
        raise Boom("json broke")
    except Boom:
        record = logging.getLogger("app.test").makeRecord(
            "app.test", logging.ERROR, __file__, 1, "failed %s", ("here",), exc_info=__import__("sys").exc_info())
    record.request_id = "abc123"
    line = JsonFormatter().format(record)

    entry = json.loads(line)
    assert "\n" not in line
    assert entry["level"] == "ERROR" and entry["logger"] == "app.test" and entry["message"] == "failed here"
    assert entry["request_id"] == "abc123"
    assert "Boom: json broke" in entry["exc_info"] and "Traceback" in entry["exc_info"]
    assert entry["time"].endswith("+00:00")


def test_records_outside_a_request_get_a_placeholder_id():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    assert RequestIdFilter().filter(record) and record.request_id == "-"


def test_an_unknown_log_format_is_refused_with_the_setting_name():
    import pytest

    from app.logging_setup import configure_logging

    with pytest.raises(ValueError, match="COMPUTEHUB_LOG_FORMAT"):
        configure_logging("xml")
