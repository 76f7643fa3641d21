"""HTTP/1.1 answers read by hand, sized or chunked, and the server-sent events of a stream: the load clients of
bench/perf.py must cost less CPU than the server they load, which a client library does not (fastmcp's Client
spends about what the server does per call)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from bench.raw_http import open_from

LOOPBACK = "127.0.0.1"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: bytes


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[str, str]]:
    """An answer's status and headers; ConnectionError if the server closed the connection instead."""
    line = await reader.readline()
    if not line:
        raise ConnectionError("the server closed the connection")
    status = int(line.split(b" ", 2)[1])
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


async def read_chunk(reader: asyncio.StreamReader) -> bytes:
    """The next chunk of a chunked body; b"" once the body has ended."""
    size = (await reader.readline()).split(b";")[0].strip()
    if not size:
        raise EOFError("the server closed the connection mid-body")
    data = await reader.readexactly(int(size, 16) + 2)  # the chunk and its CRLF
    return data[:-2]


async def read_answer(reader: asyncio.StreamReader) -> Answer:
    """A whole answer on a keep-alive connection, its body by Content-Length or chunk by chunk."""
    status, headers = await read_head(reader)
    if headers.get("transfer-encoding") == "chunked":
        parts = []
        while chunk := await read_chunk(reader):
            parts.append(chunk)
        body = b"".join(parts)
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    return Answer(status, headers, body)


class Connection:
    """One keep-alive connection from 127.0.0.1, opened when first used and again if the server closed it idle."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def exchange(self, request: bytes) -> Answer:
        """Send `request` and read its answer. A connection found closed before any answer (uvicorn drops idle
        keep-alive connections after 5 s) is opened anew and the request sent again, as HTTP clients do."""
        try:
            return await self._send(request)
        except ConnectionError:
            self.close()
            return await self._send(request)

    async def _send(self, request: bytes) -> Answer:
        if self.writer is None:
            self.reader, self.writer = await open_from(self.port, LOOPBACK)
        self.writer.write(request)
        return await read_answer(self.reader)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


def events_in(body: bytes) -> list[bytes]:
    """The events of a server-sent-events text, whatever its line ends."""
    return [event for event in body.replace(b"\r\n", b"\n").split(b"\n\n") if event.strip()]


def data_of(event: bytes) -> bytes | None:
    """An event's data (its first data line), or None for a comment, a retry or an endpoint without one."""
    for line in event.split(b"\n"):
        if line.startswith(b"data: "):
            return line[6:]
    return None


class EventStream:
    """The events of a streamed answer (a GET that stays open), one at a time as they come."""

    def __init__(self, reader: asyncio.StreamReader):
        self.reader = reader
        self.buffer = b""

    async def next(self) -> bytes:
        while b"\n\n" not in self.buffer:
            chunk = await read_chunk(self.reader)
            if not chunk:
                raise EOFError("the server ended the stream")
            self.buffer += chunk.replace(b"\r\n", b"\n")
        event, self.buffer = self.buffer.split(b"\n\n", 1)
        return event


async def open_stream(port: int, request: bytes) -> tuple[EventStream, asyncio.StreamWriter]:
    """A GET that stays open (an SSE stream), its head read: its events, and the writer that closes it."""
    reader, writer = await open_from(port, LOOPBACK)
    writer.write(request)
    status, _ = await read_head(reader)
    if status != 200:
        writer.close()
        raise ConnectionError(f"the stream was refused: HTTP {status}")
    return EventStream(reader), writer
