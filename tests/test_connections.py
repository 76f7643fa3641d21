"""Connections as the server takes them: counted by address and in all, refused in JSON past either bound, each
request's headers on a deadline. Driven through uvicorn's own protocol class, with transports that record."""

import asyncio
import json

import uvicorn
from uvicorn.server import ServerState

from tictactoe.serving.connections import Connections, open_files_allowed


class Transport:
    """What a connection's socket was sent, and whether it was closed."""

    def __init__(self, address: str):
        self.address = address
        self.written = b""
        self.closed = False

    def get_extra_info(self, name: str):
        return {"peername": (self.address, 40000), "sockname": ("127.0.0.1", 7860)}.get(name)

    def write(self, data: bytes) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def set_write_buffer_limits(self, **limits) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def app(scope, receive, send):
    pass


def connect(bounds: Connections, address: str):
    config = uvicorn.Config(app=app, log_level="critical", lifespan="off")
    config.load()
    protocol = bounds.protocol()(config, ServerState(), {})
    transport = Transport(address)
    protocol.connection_made(transport)
    return protocol, transport


def refusal(transport: Transport) -> tuple[int, dict]:
    head, _, body = transport.written.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)["error"]


async def test_one_address_holds_its_share_and_others_are_served():
    bounds = Connections(per_client=2, enforced=True, header_seconds=10, total=100)
    held = [connect(bounds, "127.0.0.2") for _ in range(2)]
    refused = connect(bounds, "127.0.0.2")[1]
    assert refused.closed
    assert refusal(refused) == (
        429,
        {"code": "too_many_connections", "message": "Too many connections from your address.", "retry_after": 5},
    )
    assert not connect(bounds, "127.0.0.3")[1].closed
    held[0][0].connection_lost(None)
    assert not connect(bounds, "127.0.0.2")[1].closed  # a closed connection frees its place at once


async def test_behind_a_proxy_only_the_total_counts():
    bounds = Connections(per_client=1, enforced=False, header_seconds=10, total=3)
    assert [connect(bounds, "10.0.0.1")[1].closed for _ in range(4)] == [False, False, False, True]
    assert refusal(connect(bounds, "10.0.0.2")[1])[0] == 503


async def test_headers_that_do_not_arrive_in_time_get_a_json_408():
    bounds = Connections(per_client=10, enforced=True, header_seconds=0.2, total=100)
    protocol, transport = connect(bounds, "127.0.0.2")
    protocol.data_received(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    await asyncio.sleep(0.4)
    assert transport.closed
    assert refusal(transport) == (408, {"code": "request_timeout", "message": "Headers must arrive within 0.2 s."})
    silent = connect(bounds, "127.0.0.2")[1]
    await asyncio.sleep(0.4)
    assert silent.closed and silent.written == b""  # nothing was asked: nothing to answer


async def test_a_request_that_is_not_http_is_a_json_400():
    protocol, transport = connect(Connections(per_client=10, enforced=True, header_seconds=10, total=100), "127.0.0.2")
    protocol.data_received(b"GARBAGE\r\n\r\n")
    assert transport.closed
    assert refusal(transport) == (400, {"code": "bad_request", "message": "The request is not valid HTTP/1.1."})


def test_the_open_files_limit_leaves_room_for_the_server_itself():
    assert open_files_allowed() >= 256
