"""SSE sessions across processes: a POST /messages/ that reaches a process other than the one holding its session's
stream is relayed through Redis to that one, which answers it as if it had come there, and its answer relayed back.

Each process subscribes to `sse:<session_id>` for the streams it holds, before the client hears the endpoint to post
to, and to a reply channel of its own. A POST for a session held elsewhere is published there, naming that reply
channel; the holder plays it into its own app and publishes the answer (202, or a refusal) on it, which the first
process waits for. Published to no one, the POST goes to this process's app, which answers as the library does for
an unknown session. One subscription a process, whatever the number of POSTs under way.
"""

from __future__ import annotations

import asyncio
import contextlib
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

ANSWER_SECONDS = 30  # the holder answers a relayed POST once its session takes it (the call itself runs on after):
# at once, or seconds into a burst of sessions opening; its process gone, the POST is refused after this long
CONNECTIONS = 32  # to Redis, for relaying: each is held a round trip at a time
HEAR_SECONDS = 0.01  # the hearing task looks this often for streams to subscribe to
OFFER_SECONDS = 0.5  # a new stream's endpoint waits at most this long for its subscription
CARRIED = ("method", "path", "raw_path", "query_string", "headers", "client", MESSAGE)  # what a relayed POST keeps


class SseRelay:
    """In front of `sessions` for POST /messages/: relays the POSTs whose stream another process holds."""

    def __init__(self, sessions: SseSessions, url: str, prefix: str):
        self.sessions = sessions
        self.prefix = prefix
        pool = redis.asyncio.BlockingConnectionPool.from_url(  # a burst of POSTs waits its turn for a connection
            url, max_connections=CONNECTIONS, timeout=ANSWER_SECONDS, socket_connect_timeout=1, socket_timeout=2
        )
        self.redis = redis.asyncio.Redis(connection_pool=pool)
        self.replies = f"{prefix}sse-reply:{secrets.token_hex(8)}"  # this process's channel for holders' answers
        self._streams: dict[str, Scope] = {}  # the scope of each stream held here, by session_id
        self._waiting: dict[str, asyncio.Future] = {}  # the POSTs relayed from here, by the id of their envelope
        self._changes: asyncio.Queue = asyncio.Queue()  # (channel, subscribe or not, set once done), for `hear`
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
        except (redis.RedisError, TimeoutError) as error:
            log.warning("a POST could not be relayed to its session (%s: %s)", type(error).__name__, error)
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
        number = secrets.token_hex(8)
        carried = {key: scope[key] for key in CARRIED if key in scope}
        envelope = {"scope": _portable(carried), "body": body.decode("latin-1"), "reply": self.replies, "id": number}
        answered = self._waiting[number] = asyncio.get_running_loop().create_future()
        try:
            for _ in range(2):  # a stream opened this instant may not be subscribed yet
                if await self.redis.publish(self._channel(session_id), json.dumps(envelope)):
                    return await asyncio.wait_for(answered, ANSWER_SECONDS)
                await asyncio.sleep(0.05)
            return None
        finally:
            del self._waiting[number]

    def _channel(self, session_id: str) -> str:
        return f"{self.prefix}sse:{session_id}"

    async def _held(self, session_id: str, scope: Scope) -> None:
        """A stream named here: offered to the other processes (by the hearing task, which alone uses the
        subscription) before its client hears where to post, as far as a moment allows."""
        self._streams[session_id] = scope
        offered = asyncio.Event()
        self._changes.put_nowait((self._channel(session_id), True, offered))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(offered.wait(), OFFER_SECONDS)

    async def _let_go(self, session_id: str) -> None:
        self._streams.pop(session_id, None)
        self._changes.put_nowait((self._channel(session_id), False, asyncio.Event()))

    async def hear(self) -> None:
        """Answer the POSTs relayed to the streams held here, until cancelled; Redis lost is Redis tried again."""
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.replies, *map(self._channel, self._streams))
                while True:
                    await self._subscriptions(pubsub)
                    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=HEAR_SECONDS)
                    if message is not None:
                        self._heard(message["channel"].decode(), json.loads(message["data"]))
            except (redis.RedisError, OSError) as error:
                log.warning("relaying SSE POSTs paused: Redis failed (%s); trying again", type(error).__name__)
                await asyncio.sleep(1)
            finally:
                await pubsub.aclose()

    def _heard(self, channel: str, message: dict) -> None:
        """A holder's answer to a POST relayed from here, or a POST for a stream held here, to answer."""
        if channel == self.replies:
            answered = self._waiting.get(message["id"])
            if answered is not None and not answered.done():
                answered.set_result(message)
            return
        task = asyncio.create_task(self._answer(message))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _subscriptions(self, pubsub) -> None:
        """Subscribe to the streams named here since last time, and unsubscribe from those ended."""
        while not self._changes.empty():
            channel, held, offered = self._changes.get_nowait()
            await (pubsub.subscribe(channel) if held else pubsub.unsubscribe(channel))
            offered.set()

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
            await self.redis.publish(envelope["reply"], json.dumps({**answer, "id": envelope["id"]}))
        except redis.RedisError as error:
            log.warning("a relayed POST's answer could not be sent back (%s: %s)", type(error).__name__, error)

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
