"""Structured logs (issue 16, item 5): JSON lines carrying the request or event id."""

from __future__ import annotations

import io
import json
import logging

from reup_app.logs import configure_logging
from reup_app.security.events import begin_request, bind


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_record_is_one_json_object_with_the_request_id_user_and_business():
    stream = io.StringIO()
    handler = configure_logging("json", stream=stream)
    try:
        begin_request("req-0123456789")
        bind(user_id=13, entity_id=3)
        logging.getLogger("reup_app.test").warning("checkout failed for %s", "RU-1")
        try:
            raise ValueError("boom")
        except ValueError:
            logging.getLogger("reup_app.test").exception("with a traceback")
    finally:
        logging.getLogger().removeHandler(handler)
    first, second = _lines(stream)
    assert first["message"] == "checkout failed for RU-1"
    assert first["level"] == "WARNING" and first["logger"] == "reup_app.test"
    assert first["request_id"] == "req-0123456789" and first["user"] == 13 and first["business"] == 3
    assert first["time"].endswith("Z") and first["time"][:4].isdigit()
    assert second["request_id"] == "req-0123456789"
    assert "ValueError: boom" in second["exc_info"]


def test_outside_any_request_the_id_is_a_dash_and_text_format_still_shows_it():
    stream = io.StringIO()
    begin_request("evt-abcdef12")
    handler = configure_logging("text", stream=stream)
    try:
        logging.getLogger("reup_app.test").info("plain")
    finally:
        logging.getLogger().removeHandler(handler)
    assert "[evt-abcdef12]: plain" in stream.getvalue()


def test_configuring_twice_keeps_one_handler():
    before = len(logging.getLogger().handlers)
    a = configure_logging("json", stream=io.StringIO())
    b = configure_logging("json", stream=io.StringIO())
    try:
        assert a not in logging.getLogger().handlers and b in logging.getLogger().handlers
        assert len(logging.getLogger().handlers) == before + 1
    finally:
        logging.getLogger().removeHandler(b)
