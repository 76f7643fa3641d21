"""Logging: one line per record, ours and the libraries' alike, with no capability in it; tracebacks only at
LOG_LEVEL=debug."""

from __future__ import annotations

import logging
import re

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LIBRARY_LOGGERS = ("fastmcp", "mcp", "uvicorn", "uvicorn.error", "uvicorn.access")  # some bring handlers of their own
LINE_LIMIT = 1000  # characters in a logged line: a long URL or message cannot flood the log
# What a log line must not carry, whichever library writes it: room and watch ids, seat tokens and queue tickets
# (22 URL-safe characters), MCP session ids (32 hex digits, or a UUID), and anything after the names they go by.
_CAPABILITIES = re.compile(
    r"(?P<name>(?i:/rooms/|/watch/|session_id=|player_token=|ticket=|session id:? ))[^/\s?&\"',<>]+"
    r"|(?<![\w-])(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}"
    r"|(?=[\w-]*[0-9A-Z-])[\w-]{22})(?![\w-])"
)


def redact(text: str) -> str:
    """`text` with every capability it names replaced by an ellipsis (the name it goes by is kept)."""
    return _CAPABILITIES.sub(lambda match: (match.group("name") or "") + "…", text)


class OneLine(logging.Formatter):
    """A record's message, with capabilities redacted and cut to LINE_LIMIT, and in place of its traceback the
    exception's type: a traceback can quote input, paths and library internals, so it is shown only when
    debugging."""

    def __init__(self, debug: bool):
        super().__init__(FORMAT)
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug or not record.exc_info:
            return self._safe(super().format(record))
        error = record.exc_info[1]
        summary = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return self._safe(f"{super().format(summary)} [{type(error).__name__}]")

    def _safe(self, line: str) -> str:
        line = redact(line)
        if self.debug:
            return line  # a traceback spans lines, and is read whole
        line = line.replace("\n", " ⏎ ")
        return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 1] + "…"


def configure_logging(level: str) -> None:
    """Send every logger through one stderr handler at `level`. Call again after importing fastmcp: it adds its own."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLine(debug=level.lower() == "debug"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
