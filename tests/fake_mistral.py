"""A stand-in for the Mistral API on 127.0.0.1, so the real SDK and our client code are what the tests run: chat
completions for the opponent, and the Conversations API driven by a scripted model for Mistral's own MCP client."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a chat completion with `content`, or a raw `status` and `body`, after `delay` seconds."""

    content: str | None = None
    status: int = 200
    body: bytes | None = None
    delay: float = 0.0


def completion(content: str) -> bytes:
    return json.dumps(
        {
            "id": "fake",
            "object": "chat.completion",
            "model": "fake-model",
            "created": 0,
            "usage": {},
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        }
    ).encode()


def first_free_cell(request: dict) -> int:
    """The first cell the prompt lists as free: what a well-behaved model would play."""
    prompt = request["messages"][-1]["content"]
    return json.loads(re.search(r"Free cells: (\[[^\]]*\])", prompt).group(1))[0]


def well_behaved(request: dict) -> Reply:
    system = request["messages"][0]["content"]
    if '"move"' in system:
        return Reply(json.dumps({"move": first_free_cell(request), "message": "Fake Mistral moves! 🤖"}))
    return Reply(json.dumps({"message": "Fake Mistral talks back."}))


# A scripted model for the Conversations API: given everything it has seen in a conversation (the user's words and
# each tool result's text, nothing else: what a model behind Mistral's MCP client sees), the next call it makes,
# as (tool name, arguments), or its final words as a string.
Model = Callable[[list[str]], "tuple[str, dict] | str"]


def entry(output: tuple[str, dict] | str, number: int) -> dict:
    """A conversation output entry: a function call the SDK runs against its MCP clients, or the model's message."""
    made = {"object": "entry", "id": f"entry-{number}", "created_at": "2026-12-01T00:00:00Z"}
    if isinstance(output, str):
        return {**made, "type": "message.output", "role": "assistant", "content": output}
    name, arguments = output
    return {**made, "type": "function.call", "tool_call_id": f"call-{number}", "name": name,
            "arguments": json.dumps(arguments)}  # fmt: skip


def seen_in(inputs: list | str) -> list[str]:
    """The text a model sees of a conversation's new inputs: the user's words, and each tool result's text."""
    if isinstance(inputs, str):
        return [inputs]
    texts = []
    for item in inputs:
        if item.get("type") == "function.result":
            texts.append("\n".join(chunk["text"] for chunk in json.loads(item["result"])))
        elif isinstance(item.get("content"), str):
            texts.append(item["content"])
    return texts


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # a load test's model calls all arrive at once; the default 5 would reset most


class FakeMistral:
    """Answers each chat completion with the next scripted Reply, then like a well-behaved model after `delay` s."""

    def __init__(self, delay: float = 0.0, model: Model | None = None) -> None:
        self.delay = delay
        self.model = model
        self.conversations: dict[str, list[str]] = {}  # what each conversation's model has seen
        self.requests: list[dict] = []
        self.headers: list[dict] = []
        self._script: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server = Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def script(self, *replies: Reply) -> None:
        with self._lock:
            self._script.extend(replies)

    def start(self) -> FakeMistral:
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _next(self, request: dict, headers: dict) -> Reply:
        with self._lock:
            self.requests.append(request)
            self.headers.append(headers)
            return self._script.popleft() if self._script else replace(well_behaved(request), delay=self.delay)

    def converse(self, path: str, request: dict) -> bytes:
        """Start a conversation (POST /v1/conversations) or append to one, and answer as the scripted model does."""
        with self._lock:
            if path == "/v1/conversations":
                conversation = f"conversation-{len(self.conversations)}"
                self.conversations[conversation] = []
            else:
                conversation = path.rsplit("/", 1)[1]
            seen = self.conversations[conversation]
            seen.extend(seen_in(request["inputs"]))
            number = len(seen)
        output = entry(self.model(list(seen)), number)
        usage = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
        answer = {
            "object": "conversation.response",
            "conversation_id": conversation,
            "outputs": [output],
            "usage": usage,
        }
        return json.dumps(answer).encode()

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the real API: a new connection per call would cost more

            def do_POST(self) -> None:
                request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path.startswith("/v1/conversations"):
                    self.answer(200, fake.converse(self.path, request))
                    return
                reply = fake._next(request, dict(self.headers))
                time.sleep(reply.delay)
                body = reply.body if reply.content is None else completion(reply.content)
                self.answer(reply.status, body if body is not None else b"{}")

            def answer(self, status: int, body: bytes) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args) -> None:
                pass

        return Handler
