import logging
import sys

from tictactoe.logs import OneLine


def a_bug_logged() -> logging.LogRecord:
    """The record `log.exception("unhandled error on %s", ...)` makes for a bug."""
    try:
        raise RuntimeError("internal detail /srv/app/secret.py")
    except RuntimeError:
        exc_info = sys.exc_info()
    return logging.makeLogRecord(
        {
            "name": "tictactoe.rest",
            "levelname": "ERROR",
            "levelno": logging.ERROR,
            "msg": "unhandled error on %s",
            "args": ("GET /rooms/<room_id>",),
            "exc_info": exc_info,
        }
    )


def test_a_bug_is_one_line_naming_the_error_type_only():
    line = OneLine(debug=False).format(a_bug_logged())
    assert line.endswith(" ERROR tictactoe.rest: unhandled error on GET /rooms/<room_id> [RuntimeError]")
    assert "\n" not in line


def test_at_debug_level_the_traceback_is_shown():
    text = OneLine(debug=True).format(a_bug_logged())
    assert "Traceback (most recent call last)" in text
    assert "RuntimeError: internal detail /srv/app/secret.py" in text


def test_records_without_an_exception_are_unchanged():
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "room created (%s)", "args": ("easy",)})
    assert OneLine(debug=False).format(record).endswith(" INFO x: room created (easy)")
