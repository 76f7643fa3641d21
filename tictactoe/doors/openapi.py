"""The OpenAPI 3.1 document of the HTTP routes, generated: the paths from the routes each door declares, their
bodies and answers from the typed models, their errors from the statuses every door maps (and their meanings).

Nothing here describes a shape by hand: a field added to a model shows here, in the MCP tools' outputSchema and in
the tests' checks at once.
"""

from __future__ import annotations

import functools

from pydantic import TypeAdapter

from tictactoe import __version__
from tictactoe.doors.http import meanings
from tictactoe.doors.pages.routes import HOME, PAGES
from tictactoe.doors.rest import REST
from tictactoe.doors.routes import Operation, Route
from tictactoe.doors.schemas import Lean
from tictactoe.state.answers import BusyAnswer, ErrorAnswer, RoomId

EVERYWHERE = (403, 408, 413, 421, 429, 503)  # the gate, the deadlines and the shares can answer any route so
WRITES = (401,)  # a write needs the token, if the server sets one
BUSY = (429, 503)  # refusals for now, which say when to retry
PATH = {
    "room_id": (RoomId, "The id from creating the room (also its Location header)."),
    "watch_id": (RoomId, "From the room's links.watch: it shows the game and gives no right to play."),
}
HEADERS = {
    "PlayerToken": ("X-Player-Token", str, "Your seat's token: to see a room for two from your side, or your record."),
    "Client": ("X-Client", str, "page: the call comes from this server's pages, as a move's `via` says; else rest."),
}
ROOM_LINK = {"room_id": "$response.body#/room_id"}


def routes() -> list[Route]:
    """Every documented route, in the order the document lists them: the home page, the API, the room pages."""
    return [*HOME, *REST, *PAGES]


@functools.cache
def openapi_document() -> dict:
    """The document served at /openapi.json."""
    documented = routes()
    schemas = Schemas([route.operation for route in documented])
    paths: dict[str, dict] = {}
    for route in documented:
        paths.setdefault(route.path, _path_parameters(route.path))[route.method.lower()] = _operation(route, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tic-tac-toe",
            "version": __version__,
            "description": "Tic-tac-toe against a trash-talking opponent: you are X and move first, and every move "
            "answers with the opponent's reply. A room is private to whoever holds its id.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas.definitions(),
            "responses": {str(status): _error_response(status, schemas) for status in _statuses(documented)},
            "parameters": {name: _header(name) for name in HEADERS},
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Only when the server sets MCP_AUTH_TOKEN: that token. Otherwise none is needed.",
                }
            },
        },
    }


class Schemas:
    """The JSON Schemas of every model the operations name, generated together so that they share definitions."""

    def __init__(self, operations: list[Operation]):
        models = {id(kind): kind for op in operations for kind in (op.answer, op.body) if kind is not None}
        models |= {id(ErrorAnswer): ErrorAnswer, id(BusyAnswer): BusyAnswer}
        inputs = [(key, "serialization", TypeAdapter(kind)) for key, kind in models.items()]
        generated, self._definitions = TypeAdapter.json_schemas(
            inputs, ref_template="#/components/schemas/{model}", schema_generator=Lean
        )
        self._schemas = {key: schema for (key, _), schema in generated.items()}

    def of(self, kind: object) -> dict:
        return self._schemas[id(kind)]

    def definitions(self) -> dict:
        return self._definitions.get("$defs", {})


def _operation(route: Route, schemas: Schemas) -> dict:
    op = route.operation
    errors = {*op.errors, *EVERYWHERE, *(WRITES if route.method != "GET" else ())}
    answer = {"description": op.description or op.summary, "content": {op.media_type: {"schema": _answer(op, schemas)}}}
    if op.answer_headers:
        answer["headers"] = {name: _said(text) for name, text in op.answer_headers.items()}
    if op.links:
        answer["links"] = {link: {"operationId": link, "parameters": ROOM_LINK} for link in op.links}
    documented: dict = {
        "operationId": op.id,
        "summary": op.summary,
        "responses": {
            str(op.status): answer,
            **{str(status): {"$ref": f"#/components/responses/{status}"} for status in sorted(errors)},
        },
    }
    parameters = [{"$ref": f"#/components/parameters/{name}"} for name in op.headers]
    if op.query is not None:
        parameters += _query(_schema(op.query))
    if parameters:
        documented["parameters"] = parameters
    if op.body is not None:
        described = "JSON, read as such whatever the Content-Type (or without one)."
        content = {"application/json": {"schema": schemas.of(op.body)}}
        documented["requestBody"] = {"required": op.body_required, "description": described, "content": content}
    if route.method != "GET":
        documented["security"] = [{}, {"bearer": []}]  # {}: no token, unless the server sets one
    return documented


def _answer(op: Operation, schemas: Schemas) -> dict:
    if op.answer is None:
        return {"type": "string"}
    return schemas.of(op.answer)


def _path_parameters(path: str) -> dict:
    named = [name for name in PATH if "{" + name + "}" in path]
    if not named:
        return {}
    return {
        "parameters": [
            {
                "name": name,
                "in": "path",
                "required": True,
                "description": PATH[name][1],
                "schema": _schema(PATH[name][0]),
            }
            for name in named
        ]
    }


def _query(schema: dict) -> list[dict]:
    """Query parameters from a typed model's schema: each property one optional parameter."""
    parameters = []
    for name, field in schema["properties"].items():
        described = {key: value for key, value in field.items() if key != "description"}
        parameters.append(
            {"name": name, "in": "query", "required": False, "description": field["description"], "schema": described}
        )
    return parameters


def _header(name: str) -> dict:
    header, kind, description = HEADERS[name]
    return {"name": header, "in": "header", "required": False, "description": description, "schema": _schema(kind)}


def _statuses(documented: list[Route]) -> list[int]:
    used = {*EVERYWHERE, *WRITES}
    for route in documented:
        used |= set(route.operation.errors)
    return sorted(used)


def _error_response(status: int, schemas: Schemas) -> dict:
    described = " ".join(f"{code}: {meaning}" for code, meaning in meanings(status).items())
    response: dict = {
        "description": described,
        "content": {"application/json": {"schema": schemas.of(BusyAnswer if status in BUSY else ErrorAnswer)}},
    }
    if status in BUSY:
        response["headers"] = {"Retry-After": _said("Seconds to wait, as in `retry_after`.")}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": _said('The scheme to use: Bearer realm="tictactoe".')}
    return response


def _said(description: str) -> dict:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def _schema(kind: object) -> dict:
    return TypeAdapter(kind).json_schema(schema_generator=Lean)
