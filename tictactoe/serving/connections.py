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
import resource
import socket
from collections import Counter

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol


def raw_response(status: int, reason: str, code: str, message: str, retry_after: int | None = None) -> bytes:
    """A whole HTTP/1.1 response with a JSON error body, for refusals made before there is a request to answer."""
    error: dict = {"code": code, "message": message}
    extra = ""
    if retry_after is not None:
        error["retry_after"] = retry_after
        extra = f"retry-after: {retry_after}\r\n"
    body = json.dumps({"error": error}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
        f"{extra}connection: close\r\n\r\n"
    )
    return head.encode() + body


TOO_MANY = raw_response(429, "Too Many Requests", "too_many_connections", "Too many connections from your address.", 5)
UNREADABLE = raw_response(400, "Bad Request", "bad_request", "The request is not valid HTTP/1.1.")
FULL = raw_response(503, "Service Unavailable", "server_busy", "The server has all the connections it can hold.", 5)
FILES_KEPT = 256  # file descriptors kept for what is not a client's connection: the database, logs, Mistral


def open_files_allowed() -> int:
    """Raise this process's limit on open files to the most it may have, and say how many client connections that
    leaves room for: past it, accepting a connection would fail for everyone alike."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        soft = hard
    return max(FILES_KEPT, soft - FILES_KEPT)


class Connections:
    """Connections open by address: at most `total` for everyone, and `per_client` from one address. The latter is
    enforced only when the server is reached directly: behind a proxy every connection comes from the proxy, and
    the gate limits each real client's requests instead."""

    def __init__(self, per_client: int, enforced: bool, header_seconds: float, total: int):
        self.per_client = per_client
        self.enforced = enforced
        self.total = total
        self.header_seconds = header_seconds
        self.too_slow = raw_response(
            408, "Request Timeout", "request_timeout", f"Headers must arrive within {header_seconds:g} s."
        )
        self.by_address: Counter[str] = Counter()
        self.count = 0

    def protocol(self) -> type[H11Protocol]:
        """The protocol class to give uvicorn (its `http` setting), bound to these counts."""
        return type("BoundedH11Protocol", (BoundedH11Protocol,), {"bounds": self})

    def admit(self, address: str) -> bytes | None:
        """Count a new connection from `address`; or, if it is one too many, the answer that refuses it."""
        if self.enforced and self.by_address[address] >= self.per_client:
            return TOO_MANY
        if self.count >= self.total:
            return FULL
        self.by_address[address] += 1
        self.count += 1
        return None

    def release(self, address: str) -> None:
        self.count -= 1
        self.by_address[address] -= 1
        if not self.by_address[address]:
            del self.by_address[address]


class BoundedH11Protocol(H11Protocol):
    bounds: Connections  # set by Connections.protocol (uvicorn has `connections` already)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # Answers go out at once: uvicorn's worker processes get their socket without it, and then each request
            # after the first on a connection waited ~40 ms for Nagle's algorithm (library-facts.md, 11).
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._header_clock: asyncio.TimerHandle | None = None
        self._address: str | None = self.client[0] if self.client else "local"
        refusal = self.bounds.admit(self._address)
        if refusal is not None:
            self._address = None  # not counted
            transport.write(refusal)
            transport.close()
            return
        self._wind_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        if self._address is not None:
            self.bounds.release(self._address)
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
