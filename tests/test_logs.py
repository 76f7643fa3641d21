import contextlib
import logging
import sys
import urllib.request

from fastmcp import Client

from tests.servers import Served, http
from tictactoe.serving.logs import LINE_LIMIT, OneLine, redact


def a_bug_logged() -> logging.LogRecord:
    """The record `log.exception("unhandled error on %s", ...)` makes for a bug."""
    try:
        raise RuntimeError("internal detail /srv/app/secret.py")
    except RuntimeError:
        exc_info = sys.exc_info()
    return logging.makeLogRecord(
        {
            "name": "tictactoe.doors.rest",
            "levelname": "ERROR",
            "levelno": logging.ERROR,
            "msg": "unhandled error on %s",
            "args": ("GET /rooms/<room_id>",),
            "exc_info": exc_info,
        }
    )


def test_a_bug_is_one_line_naming_the_error_type_only():
    line = OneLine(debug=False).format(a_bug_logged())
    assert line.endswith(" ERROR tictactoe.doors.rest: unhandled error on GET /rooms/<room_id> [RuntimeError]")
    assert "\n" not in line


def test_at_debug_level_the_traceback_is_shown():
    text = OneLine(debug=True).format(a_bug_logged())
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: internal detail /srv/app/secret.py" in text


def test_records_without_an_exception_are_unchanged():
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "room created (%s)", "args": ("easy",)})
    assert OneLine(debug=False).format(record).endswith(" INFO x: room created (easy)")


def test_redaction_keeps_the_names_and_drops_the_capabilities():
    lines = {
        "GET /rooms/DiujC26yJEtSq06ujs5h-w/view HTTP/1.1": "GET /rooms/…/view HTTP/1.1",
        "POST /messages/?session_id=66a439e27536473892d9dd5e3407ed1c HTTP/1.1": "POST /messages/?session_id=… HTTP/1.1",
        "New transport with session ID: 66a439e27536473892d9dd5e3407ed1c": "New transport with session ID: …",
        "Could not find session for ID: 2b5f1e0c-8a3d-4f7e-9c1b-0d2e3f4a5b6c": "Could not find session for ID: …",
        "GET /watch/x_Y-z/events?player_token=abc": "GET /watch/…/events?player_token=…",
        "seat AbCdEfGhIjKlMnOpQrStU1 left": "seat … left",
        "unhandled error on GET /rooms/<room_id> [ValueError]": "unhandled error on GET /rooms/<room_id> [ValueError]",
        "mcp.server.streamable_http_manager: started": "mcp.server.streamable_http_manager: started",
    }
    assert {line: redact(line) for line in lines} == lines


def test_a_line_is_one_line_of_bounded_length():
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "a\nb " + "c" * 5000})
    line = OneLine(debug=False).format(record)
    assert "\n" not in line and " INFO x: a ⏎ b ccc" in line
    assert len(line) == LINE_LIMIT and line.endswith("c…")


async def test_no_capability_reaches_the_log_whichever_library_writes_it():
    served = Served("mcp_server.py", LOG_LEVEL="debug")  # every line any library writes
    seen: set[str] = set()
    try:
        async with Client(f"{served.url}/sse") as sse, Client(f"{served.url}/mcp", mode="legacy") as legacy:
            made = (await sse.call_tool("create_room", {"opponent": "human", "name": "Ann"})).structured_content
            joined = (await legacy.call_tool("join_room", {"room_id": made["room_id"]})).structured_content
            queued = (await legacy.call_tool("enter_queue", {})).structured_content
            seen |= {made["room_id"], made["player_token"], joined["player_token"], queued["ticket"]}
            seen.add(made["links"]["watch"].rsplit("/", 1)[1])
            seen.add(legacy.transport.get_session_id())  # SSE's session id is not shown to its client
        status, room = http("POST", f"{served.url}/rooms")
        seen |= {room["room_id"], room["links"]["watch"].rsplit("/", 1)[1]}
        for path in (f"/rooms/{room['room_id']}/view", f"/watch/{room['links']['watch'].rsplit('/', 1)[1]}/events"):
            with contextlib.suppress(OSError):
                urllib.request.urlopen(f"{served.url}{path}", timeout=1).read(1)
        http("GET", f"{served.url}/rooms/{room['room_id']}x/view")  # a failing page
        http("POST", f"{served.url}/messages/?session_id=0123456789abcdef0123456789abcdef", {"jsonrpc": "2.0"})
    finally:
        log = served.stop()
    assert len(seen) == 8
    assert "session ID: …" in log  # the library's own line, still there, without the id
    assert [capability for capability in seen if capability in log] == []


def test_at_info_the_log_has_a_line_for_each_refusal_and_none_for_each_answered_call():
    served = Served("mcp_server.py", LOG_LEVEL="info")
    try:
        assert http("GET", f"{served.url}/health")[0] == 200
        assert http("POST", f"{served.url}/rooms")[0] == 201
        assert http("GET", f"{served.url}/rooms/not-a-room")[0] == 404
        assert http("DELETE", f"{served.url}/health")[0] == 405
    finally:
        log = served.stop()
    status_lines = [line.split(": ", 1)[1] for line in log.splitlines() if " tictactoe.access: " in line]
    assert status_lines == ['127.0.0.1 - "GET /rooms/… HTTP/1.1" 404', '127.0.0.1 - "DELETE /health HTTP/1.1" 405']
