"""HTTP/1.1 written by hand, for what a client library would not send: requests that stall, flood or are never
read, from any loopback address."""

from __future__ import annotations

import asyncio
import json

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}


def http_request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


# A streamable-HTTP `initialize`: each one a new session, if the server lets it be.
INITIALIZE_REQUEST = http_request(
    "POST", "/mcp", json.dumps(INITIALIZE).encode(), "Accept: application/json, text/event-stream\r\n"
)


async def open_from(port: int, address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A connection to the server on `port` from `address`, which the server counts as the client."""
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))


async def open_sse_stream(port: int, address: str) -> tuple[asyncio.StreamWriter, str]:
    """An MCP SSE stream from `address`, read only as far as the path its endpoint event gives for messages."""
    reader, writer = await open_from(port, address)
    writer.write(http_request("GET", "/sse"))
    announced = b""
    while b"session_id=" not in announced or not announced.endswith(b"\r\n"):
        line = await reader.readline()
        if not line:  # refused (the address's sessions are spent, say): the answer ended with no endpoint
            status = announced.splitlines()[0].decode() if announced else "nothing"
            raise ConnectionRefusedError(f"no SSE session: {status}")
        announced += line
    return writer, "/messages/?session_id=" + announced.split(b"session_id=")[1].split()[0].decode()
