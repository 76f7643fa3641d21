"""Logging: one line per record, ours and the libraries' alike; tracebacks only at LOG_LEVEL=debug."""

from __future__ import annotations

import logging

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LIBRARY_LOGGERS = ("fastmcp", "uvicorn", "uvicorn.error", "uvicorn.access")  # they bring handlers of their own


class OneLine(logging.Formatter):
    """A record's message and, in place of its traceback, the exception's type: a traceback can quote input,
    paths and library internals, so it is shown only when debugging."""

    def __init__(self, debug: bool):
        super().__init__(FORMAT)
        self.debug = debug

    def format(self, record: logging.LogRecord) -> str:
        if self.debug or not record.exc_info:
            return super().format(record)
        error = record.exc_info[1]
        summary = logging.makeLogRecord({**record.__dict__, "exc_info": None, "exc_text": None, "stack_info": None})
        return f"{super().format(summary)} [{type(error).__name__}]"


def configure_logging(level: str) -> None:
    """Send every logger through one stderr handler at `level`. Call again after importing fastmcp: it adds its own."""
    handler = logging.StreamHandler()
    handler.setFormatter(OneLine(debug=level.lower() == "debug"))
    logging.basicConfig(level=level.upper(), handlers=[handler], force=True)
    for name in LIBRARY_LOGGERS:
        library = logging.getLogger(name)
        library.handlers.clear()
        library.propagate = True
