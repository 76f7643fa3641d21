"""In front of the MCP library's two HTTP transports, JSON-RPC stays JSON-RPC and every refusal is JSON.

JsonRpcEdge reads every POSTed message before the library does: what is not JSON answers -32700, what is not a
JSON-RPC request -32600 (with the request's id where it has one), text that is not valid Unicode -32602. JsonErrors
turns the library's plain-text refusals (a wrong method, an unknown session) into JSON like every other route's.
"""

from __future__ import annotations

import json

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tictactoe.doors import jsonin
from tictactoe.serving.gate import read_body, replay

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
MESSAGE = "tictactoe.jsonrpc"  # the scope key under which JsonRpcEdge leaves the message it read
_PLAIN_ERRORS = {  # what the library's plain-text refusals mean, said as every other route says it
    400: ("bad_request", "This request does not fit the MCP transport at this address."),
    404: ("session_not_found", "No MCP session has that id: it ended or never existed. Connect again."),
    405: ("method_not_allowed", "This address does not take that method."),
    406: ("not_acceptable", "Accept must list application/json and text/event-stream."),
    415: ("unsupported_media_type", "Send JSON-RPC as Content-Type: application/json."),
}


def rpc_error(status: int, code: int, message: str, request_id: object = None, headers: dict | None = None) -> Response:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status, headers=headers)


class JsonRpcEdge:
    """Read a POSTed JSON-RPC message strictly and refuse what the game could not store or the library would
    misreport; pass the rest on, with the message left in the scope."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)  # the gate has it whole already
        try:
            message = jsonin.parse(body)
        except jsonin.JsonRefused as refused:
            if refused.syntax:
                refusal = rpc_error(400, PARSE_ERROR, f"Parse error: {refused.message}")
            else:
                refusal = rpc_error(400, INVALID_PARAMS, f"Invalid params: {refused.message}", id_of(refused.value))
            await refusal(scope, receive, send)
            return
        problem = envelope_problem(message)
        if problem is not None:
            refusal = rpc_error(400, INVALID_REQUEST, f"Invalid Request: {problem}", id_of(message))
            await refusal(scope, receive, send)
            return
        await self.app({**scope, MESSAGE: message}, replay(body, receive), send)


def id_of(message: object) -> str | int | None:
    """The id of a JSON-RPC message, if it has one that can be answered to."""
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if valid_id(request_id) else None


def valid_id(value: object) -> bool:
    """Whether `value` can be a JSON-RPC request id in MCP: a string or a whole number, never null."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope_problem(message: object) -> str | None:
    """What keeps `message` from being a JSON-RPC 2.0 request, notification or response; None if nothing does."""
    if isinstance(message, list):
        return "batches are not supported: send one message per request."
    if not isinstance(message, dict):
        return "the body must be a JSON-RPC message, a JSON object."
    if message.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0".'
    if "id" in message and not valid_id(message["id"]):
        return "id must be a string or a whole number."
    if "method" in message:
        if not isinstance(message["method"], str):
            return "method must be a string."
        if "params" in message and not isinstance(message["params"], dict):
            return "params must be an object."
        return None
    if "id" in message and ("result" in message) != ("error" in message):
        return None  # a response, to a request the server made
    return "a message needs a method (or, as a response, an id and a result or an error)."


class JsonErrors:
    """The MCP library's own plain-text refusals (405, 404 for an unknown session, 406...) as JSON errors."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replacing = False

        async def send_json(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                status = message["status"]
                if status in _PLAIN_ERRORS and not headers.get("content-type", "").startswith("application/json"):
                    replacing = True
                    code, text = _PLAIN_ERRORS[status]
                    body = json.dumps({"error": {"code": code, "message": text}}).encode()
                    kept = [(name, value) for name, value in message["headers"] if name == b"allow"]
                    kept += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                    await send({"type": "http.response.start", "status": status, "headers": kept})
                    await send({"type": "http.response.body", "body": body})
                    return
            if not replacing:
                await send(message)

        await self.app(scope, receive, send_json)
