"""MCP clients written by hand over both HTTP transports, in the handshake era: `initialize`, then
`notifications/initialized`, then `tools/call` after `tools/call`. Cheap enough that the server, not the client,
is what a load measures."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from abc import ABC, abstractmethod

from bench.raw_http import INITIALIZE, http_request
from bench.wire import Answer, Connection, EventStream, data_of, events_in, open_stream

PROTOCOL = INITIALIZE["params"]["protocolVersion"]
INITIALIZED = json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode()


class McpError(Exception):
    """The server refused a JSON-RPC request, or answered it with something other than a result."""


def rpc(number: int, method: str, params: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": number, "method": method, "params": params}).encode()


def result_of(message: dict) -> dict:
    if "result" not in message:
        raise McpError(f"JSON-RPC error: {message.get('error')}")
    return message["result"]


class Session(ABC):
    """What both transports share: numbered requests, and `call` for a tool's result."""

    def __init__(self) -> None:
        self.numbers = itertools.count(1)

    @abstractmethod
    async def request(self, method: str, params: dict) -> dict:
        """The result of a JSON-RPC request."""

    @abstractmethod
    async def close(self) -> None:
        """Close the session's connections."""

    async def call(self, tool: str, arguments: dict) -> dict:
        """A tool's result (`content`, `structuredContent`, `isError`)."""
        return await self.request("tools/call", {"name": tool, "arguments": arguments})


class SseSession(Session):
    """An SSE client: one GET /sse stream, read by a task that hands each answer to its call by id, and calls POSTed
    to the endpoint the stream announced, on a keep-alive connection of their own."""

    def __init__(self, port: int, stream: EventStream, writer: asyncio.StreamWriter, path: str):
        super().__init__()
        self.poster = Connection(port)
        self.stream, self.writer, self.path = stream, writer, path
        self.waiting: dict[int, asyncio.Future] = {}
        self.reading = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int) -> SseSession:
        stream, writer = await open_stream(port, http_request("GET", "/sse"))
        endpoint = None
        while endpoint is None:
            endpoint = data_of(await stream.next())  # the endpoint event; nothing else comes before it
        session = cls(port, stream, writer, endpoint.decode())
        await session.request("initialize", INITIALIZE["params"])
        await session._post(INITIALIZED)
        return session

    async def request(self, method: str, params: dict) -> dict:
        number = next(self.numbers)
        answered = self.waiting[number] = asyncio.get_running_loop().create_future()
        await self._post(rpc(number, method, params))
        return result_of(await answered)

    async def _post(self, body: bytes) -> None:
        answer = await self.poster.exchange(http_request("POST", self.path, body))
        if answer.status != 202:
            raise McpError(f"HTTP {answer.status}: {answer.body[:200]!r}")

    async def _read(self) -> None:
        """Hand each answer on the stream to the call waiting for it; fail them all if the stream ends."""
        try:
            while True:
                data = data_of(await self.stream.next())
                if data is not None:
                    message = json.loads(data)
                    waiter = self.waiting.pop(message.get("id"), None)
                    if waiter is not None:
                        waiter.set_result(message)
        except (EOFError, ConnectionError, asyncio.IncompleteReadError) as error:
            for waiter in self.waiting.values():
                waiter.set_exception(McpError(f"the SSE stream ended: {error}"))

    async def close(self) -> None:
        self.reading.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reading
        self.writer.close()
        self.poster.close()


class HttpSession(Session):
    """A streamable-HTTP client: the session `initialize` made (Mcp-Session-Id), each call POSTed to /mcp on one
    keep-alive connection and its answer read off the event stream that is the call's response."""

    def __init__(self, port: int):
        super().__init__()
        self.connection = Connection(port)
        self.headers = "Accept: application/json, text/event-stream\r\n"

    @classmethod
    async def open(cls, port: int) -> HttpSession:
        session = cls(port)
        answer = await session._exchange(rpc(next(session.numbers), "initialize", INITIALIZE["params"]), 200)
        result_of(session._message(answer.body))
        session.headers += f"Mcp-Session-Id: {answer.headers['mcp-session-id']}\r\nMcp-Protocol-Version: {PROTOCOL}\r\n"
        await session._exchange(INITIALIZED, 202)
        return session

    async def request(self, method: str, params: dict) -> dict:
        answer = await self._exchange(rpc(next(self.numbers), method, params), 200)
        return result_of(self._message(answer.body))

    async def _exchange(self, body: bytes, status: int) -> Answer:
        answer = await self.connection.exchange(http_request("POST", "/mcp", body, self.headers))
        if answer.status != status:
            raise McpError(f"HTTP {answer.status}: {answer.body[:200]!r}")
        return answer

    @staticmethod
    def _message(body: bytes) -> dict:
        """The answer among the events of a call's response (the last message: notifications come before it)."""
        messages = [data for event in events_in(body) if (data := data_of(event)) is not None]
        if not messages:
            raise McpError(f"no answer in {body[:200]!r}")
        return json.loads(messages[-1])

    async def close(self) -> None:
        self.connection.close()


SESSIONS: dict[str, type[Session]] = {"sse": SseSession, "http": HttpSession}
