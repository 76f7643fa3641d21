"""Headers that do not parse, on every kind of route, over a real socket: a JSON 4xx (or the route's own answer),
never a 500, and the server goes on serving."""

import json
import socket

import pytest

from tests.servers import Served, http

ROUTES = [
    ("GET", "/health", b""),
    ("GET", "/rooms/{room}", b""),
    ("POST", "/rooms/{room}/move", b'{"position": 4}'),
    ("POST", "/rooms/{room}/chat", b'{"message": "hi"}'),
    ("GET", "/stats", b""),
    ("POST", "/mcp", b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}'),
    (
        "POST",
        "/messages/?session_id=0123456789abcdef0123456789abcdef",
        b'{"jsonrpc": "2.0", "id": 1, "method": "ping"}',
    ),
    ("GET", "/rooms/{room}/view", b""),
]
ODD_VALUES = [b"\xff\xfe", b"x" * 4000, b"\x01\x02", b"[::1", b"-1", b"99999999999999999999999999", b"\"'<>{}", b""]
HEADERS = [
    b"Content-Type",
    b"Accept",
    b"Mcp-Session-Id",
    b"Mcp-Protocol-Version",
    b"X-Player-Token",
    b"X-Forwarded-For",
    b"X-Forwarded-Proto",
    b"Last-Event-ID",
    b"Cookie",
    b"X-Client",
    b"Authorization",
    b"Origin",
    b"Host",
    b"Content-Length",
    b"Transfer-Encoding",
]


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py", TRUSTED_PROXIES="1", RATE_LIMIT_MOVE="0", RATE_LIMIT_CHAT="0")
    yield served
    served.stop()


def exchange(port: int, request: bytes) -> tuple[int, bytes]:
    """The status and body of the answer to a raw request (Connection: close, so the body ends with it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


@pytest.mark.parametrize("header", HEADERS)
def test_odd_header_values_never_make_a_500(server, header):
    room = http("POST", f"{server.url}/rooms")[1]["room_id"]
    for method, path, body in ROUTES:
        for value in ODD_VALUES:
            fields = {b"Host": b"127.0.0.1", b"Connection": b"close", b"Content-Length": str(len(body)).encode()}
            fields[header] = value
            head = b"".join(name + b": " + field + b"\r\n" for name, field in fields.items())
            request = f"{method} {path.format(room=room)} HTTP/1.1\r\n".encode() + head + b"\r\n" + body
            status, answer = exchange(server.port, request)
            assert status < 500, (method, path, header, value, answer)
            if status >= 400 and not path.endswith("/view"):
                assert "error" in json.loads(answer), (method, path, header, value, answer)
    assert http("GET", f"{server.url}/rooms/{room}")[0] == 200
