"""SSE sessions across processes: a POST /messages/ that reaches a process other than the one holding its session's
stream is relayed through Redis to that one, which answers it as if it had come there, and its answer relayed back.

Each process subscribes to `sse:<session_id>` for the streams it holds, before the client hears the endpoint to post
to. A POST for a session held elsewhere is published there with a reply key; the holder plays it into its own app
and pushes the answer (202, or a refusal) onto the reply key, which the first process waits on. Published to no one,
the POST goes to this process's app, which answers as the library does for an unknown session.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
from urllib.parse import parse_qs

import redis
import redis.asyncio
from starlette.types import Message, Receive, Scope, Send

from tictactoe.serving.gate import read_body, refuse, replay
from tictactoe.serving.jsonrpc import MESSAGE
from tictactoe.serving.sessions import SseSessions

log = logging.getLogger(__name__)

ANSWER_SECONDS = 5  # the holder answers a relayed POST (202, the call itself runs on) at once; this long at most
HEAR_SECONDS = 1.0  # the listening task looks this often whether it should stop
CARRIED = ("method", "path", "raw_path", "query_string", "headers", "client", MESSAGE)  # what a relayed POST keeps


class SseRelay:
    """In front of `sessions` for POST /messages/: relays the POSTs whose stream another process holds."""

    def __init__(self, sessions: SseSessions, url: str, prefix: str):
        self.sessions = sessions
        self.prefix = prefix
        self.redis = redis.asyncio.from_url(url, socket_connect_timeout=1, socket_timeout=ANSWER_SECONDS + 5)
        self._streams: dict[str, Scope] = {}  # the scope of each stream held here, by session_id
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self._tasks: set[asyncio.Task] = set()  # relayed POSTs being answered here
        sessions.on_named, sessions.on_ended = self._held, self._let_go

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = parse_qs(scope["query_string"].decode("latin-1")).get("session_id", [""])[0]
        if scope["method"] != "POST" or not session_id or self.sessions.holds(session_id):
            await self.sessions(scope, receive, send)
            return
        body = await read_body(receive)
        try:
            answer = await self._relayed(session_id, scope, body)
        except redis.RedisError:
            await refuse(503, "store_unavailable", "The server cannot reach its store just now.", {"Retry-After": "5"})(
                scope, receive, send
            )
            return
        if answer is None:  # nobody holds the session: the library's own answer for one unknown
            await self.sessions(scope, replay(body, receive), send)
            return
        await send({"type": "http.response.start", "status": answer["status"], "headers": _raw(answer["headers"])})
        await send({"type": "http.response.body", "body": answer["body"].encode("latin-1")})

    async def _relayed(self, session_id: str, scope: Scope, body: bytes) -> dict | None:
        """The holder's answer to this POST; None if no process holds the session."""
        reply = f"{self.prefix}sse-reply:{secrets.token_hex(8)}"
        carried = {key: scope[key] for key in CARRIED if key in scope}
        envelope = json.dumps({"scope": _portable(carried), "body": body.decode("latin-1"), "reply": reply})
        for _ in range(2):  # a stream opened this instant may not be subscribed yet
            if await self.redis.publish(self._channel(session_id), envelope):
                answered = await self.redis.blpop([reply], timeout=ANSWER_SECONDS)
                if answered is None:
                    raise redis.TimeoutError("the session's process did not answer")
                return json.loads(answered[1])
            await asyncio.sleep(0.05)
        return None

    def _channel(self, session_id: str) -> str:
        return f"{self.prefix}sse:{session_id}"

    async def _held(self, session_id: str, scope: Scope) -> None:
        self._streams[session_id] = scope
        try:
            if self._pubsub is not None:
                await self._pubsub.subscribe(self._channel(session_id))
        except redis.RedisError:
            log.warning("an SSE session could not be offered to the other processes; it is served here only")

    async def _let_go(self, session_id: str) -> None:
        self._streams.pop(session_id, None)
        try:
            if self._pubsub is not None:
                await self._pubsub.unsubscribe(self._channel(session_id))
        except redis.RedisError:
            pass  # a POST relayed to it finds the session gone, as it is

    async def hear(self) -> None:
        """Answer the POSTs relayed to the streams held here, until cancelled; Redis lost is Redis tried again."""
        while True:
            try:
                self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                await self._pubsub.subscribe(self._channel("-"), *map(self._channel, self._streams))
                while True:
                    message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=HEAR_SECONDS)
                    if message is not None:
                        task = asyncio.create_task(self._answer(json.loads(message["data"])))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)
            except (redis.RedisError, OSError):
                await asyncio.sleep(1)
            finally:
                pubsub, self._pubsub = self._pubsub, None
                await pubsub.aclose()

    async def _answer(self, envelope: dict) -> None:
        """Play a relayed POST into this process's app, as on the stream it is for, and send its answer back."""
        carried = _restored(envelope["scope"])
        session_id = parse_qs(carried["query_string"].decode("latin-1")).get("session_id", [""])[0]
        stream = self._streams.get(session_id)
        if stream is None:
            return  # gone since: the POST's process times out waiting, as for a session closing under it
        answer: dict = {"status": 500, "headers": [], "body": ""}

        async def receive() -> Message:
            return {"type": "http.request", "body": envelope["body"].encode("latin-1"), "more_body": False}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer.update(status=message["status"], headers=_portable_headers(message.get("headers", [])))
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"").decode("latin-1")

        await self.sessions({**stream, **carried}, receive, send)
        try:
            await self.redis.rpush(envelope["reply"], json.dumps(answer))
            await self.redis.expire(envelope["reply"], ANSWER_SECONDS * 2)
        except redis.RedisError:
            log.warning("a relayed POST's answer could not be sent back")

    async def close(self) -> None:
        await self.redis.aclose()


def _portable(carried: dict) -> dict:
    """A POST's scope as JSON: bytes as latin-1 text."""
    portable = dict(carried)
    portable["raw_path"] = carried.get("raw_path", b"").decode("latin-1")
    portable["query_string"] = carried["query_string"].decode("latin-1")
    portable["headers"] = _portable_headers(carried["headers"])
    return portable


def _restored(portable: dict) -> dict:
    carried = dict(portable)
    carried["raw_path"] = portable["raw_path"].encode("latin-1")
    carried["query_string"] = portable["query_string"].encode("latin-1")
    carried["headers"] = _raw(portable["headers"])
    carried["client"] = tuple(portable["client"]) if portable.get("client") else None
    return carried


def _portable_headers(headers: list) -> list[list[str]]:
    return [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]


def _raw(headers: list[list[str]]) -> list[tuple[bytes, bytes]]:
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
