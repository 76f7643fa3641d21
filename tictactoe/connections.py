"""Connections as uvicorn's h11 protocol takes them, with the bounds it lacks.

uvicorn waits for a request's headers as long as the client likes, and takes any number of connections from one
address: a few hundred clients that dribble bytes would hold the server's sockets for good. Here each request's
headers must arrive within a deadline (REQUEST_SECONDS) of its first byte (or of the connection), one address
holds at most so many connections at once, and a request that does not parse is refused in JSON like every other
refusal.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def raw_response(status: int, reason: str, code: str, message: str, extra: str = "") -> bytes:
    """A whole HTTP/1.1 response with a JSON error body, for refusals made before there is a request to answer."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode() + body


TOO_MANY = raw_response(
    429, "Too Many Requests", "too_many_connections", "Too many connections from your address.", "retry-after: 5\r\n"
)
UNREADABLE = raw_response(400, "Bad Request", "bad_request", "The request is not valid HTTP/1.1.")


class Connections:
    """Connections open by address. `per_client` is enforced only when the server is reached directly: behind a
    proxy every connection comes from the proxy, and the gate limits each real client's requests instead."""

    def __init__(self, per_client: int, enforced: bool, header_seconds: float):
        self.per_client = per_client
        self.enforced = enforced
        self.header_seconds = header_seconds
        self.too_slow = raw_response(
            408, "Request Timeout", "request_timeout", f"Headers must arrive within {header_seconds:g} s."
        )
        self.open: Counter[str] = Counter()

    def protocol(self) -> type[H11Protocol]:
        """The protocol class to give uvicorn (its `http` setting), bound to these counts."""
        return type("BoundedH11Protocol", (BoundedH11Protocol,), {"bounds": self})


class BoundedH11Protocol(H11Protocol):
    bounds: Connections  # set by Connections.protocol (uvicorn has `connections` already)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._address = self.client[0] if self.client else "local"
        self._header_clock: asyncio.TimerHandle | None = None
        counts = self.bounds
        if counts.enforced and counts.open[self._address] >= counts.per_client:
            self._address = None  # not counted
            transport.write(TOO_MANY)
            transport.close()
            return
        counts.open[self._address] += 1
        self._wind_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        if self._address is not None:
            counts = self.bounds.open
            counts[self._address] -= 1
            if not counts[self._address]:
                del counts[self._address]
            self._address = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            self._wind_header_clock()  # a request has begun and its headers are not all here yet
        else:
            self._stop_header_clock()

    def send_400_response(self, msg: str) -> None:
        self.transport.write(UNREADABLE)
        self.transport.close()

    def _wind_header_clock(self) -> None:
        if self._header_clock is None and not self.transport.is_closing():
            self._header_clock = self.loop.call_later(self.bounds.header_seconds, self._headers_late)

    def _stop_header_clock(self) -> None:
        if self._header_clock is not None:
            self._header_clock.cancel()
            self._header_clock = None

    def _headers_late(self) -> None:
        self._header_clock = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            if self.conn.trailing_data[0]:  # part of a request came: say why it is refused
                self.transport.write(self.bounds.too_slow)
            self.transport.close()
