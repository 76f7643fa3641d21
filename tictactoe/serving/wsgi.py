"""Flask served in the event loop's own thread, for a server whose requests wait on nothing.

a2wsgi runs each request in a worker thread and hands every message between that thread and the loop: a few
switches between threads a request, which cost a REST move more than the game itself. Without a Mistral key and
without Redis, no request waits (the engine answers at once, rooms are in this process's memory or its SQLite
file, and the gate has read each body whole), so the loop runs Flask itself, as it runs the MCP tools. With a
model or Redis to wait on, requests keep their threads (asgi.py).
"""

from __future__ import annotations

import io

from a2wsgi.wsgi import build_environ
from starlette.types import Receive, Scope, Send

from tictactoe.serving.gate import ClientGone, read_body


class WsgiInLoop:
    """ASGI app calling the WSGI app `app` in the loop's thread: the body whole in, the answer whole out."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_body(receive)  # read by the gate already: this does not wait
        except ClientGone:
            return  # nobody to answer
        answer: list = []
        content: list[bytes] = []  # the body, in order: the chunks the app gives, and any it write()s

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            # Nothing is sent before the app returns, so an error's answer (exc_info) simply replaces the first.
            answer[:] = (
                int(status[:3]),
                [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            )
            return content.append

        chunks = self.app(build_environ(scope, io.BytesIO(body)), start_response)
        try:
            for chunk in chunks:  # the app may write() as it goes: each in its place
                content.append(chunk)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status, headers = answer
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": b"".join(content)})
