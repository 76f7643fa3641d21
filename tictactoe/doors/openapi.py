"""The OpenAPI 3.1 document of the REST API: every route, status, body and header rest.py and the gate answer."""

from __future__ import annotations

from tictactoe.game.engine import DIFFICULTIES
from tictactoe.services.games import MESSAGE_LIMIT
from tictactoe.services.people import NAME_LIMIT
from tictactoe.state.room import CHAT_KEPT, SERVER, VIA
from tictactoe.state.scores import AGAINST, LEADERS_MOST
from tictactoe.state.showing import NEXT_STEP, NEXT_STEP_PEOPLE
from tictactoe.state.text import CONTROLS

MARKS = ["X", "O"]
# Text people read, as the service takes it: no control characters (nor lone surrogates, which are not text).
FIT = f"^[^{CONTROLS}]*$"
NAME = {
    "type": "string",
    "maxLength": NAME_LIMIT,
    "pattern": FIT,
    "description": "Your display name, for the other player and the leaderboard.",
}
TOKEN = {"type": "string", "description": "Your seat's player_token, in a room for two people."}
CELL = {"type": "integer", "minimum": 0, "maximum": 8}
TIME = {"type": "number", "description": "Unix seconds."}
ROOM_ID = "^[A-Za-z0-9_-]{22}$"  # secrets.token_urlsafe(16)
# Whitespace to Python's str.strip(), which is what the service checks (not ECMA's \s).
BLANK = r"\t-\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


def _ref(name: str, kind: str = "schemas") -> dict:
    return {"$ref": f"#/components/{kind}/{name}"}


def _closed(properties: dict, optional: tuple[str, ...] = (), **extra) -> dict:
    """An object with exactly these properties, all of them required unless named in `optional`."""
    required = [name for name in properties if name not in optional]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False, **extra}


def _nullable(schema: dict) -> dict:
    return {
        **schema,
        "type": [schema["type"], "null"],
        **({"enum": [*schema["enum"], None]} if "enum" in schema else {}),
    }


def _json(schema: dict) -> dict:
    return {"application/json": {"schema": schema}}


def _header(description: str) -> dict:
    return {"description": description, "required": True, "schema": {"type": "string"}}


def _enum(*values: str) -> dict:
    return {"type": "string", "enum": list(values)}


WHENCE = {
    **_nullable(_enum(*VIA, SERVER)),
    "description": "Where it came from: MCP, REST, this server's pages, or the server (the opponent). "
    "null: not recorded (stored before history was).",
}
WHEN = {**_nullable(TIME), "description": "Unix seconds; null: not recorded (stored before history was)."}

ROOM_STATE = {
    "room_id": {"type": "string", "pattern": ROOM_ID},
    "board": {
        "type": "array",
        "items": _enum(*MARKS, ""),
        "minItems": 9,
        "maxItems": 9,
        "description": "Cells 0-8, left to right, top to bottom; an empty string is a free cell.",
    },
    "status": {
        **_enum(*dict.fromkeys([*NEXT_STEP, *NEXT_STEP_PEOPLE])),
        "description": "From your side; watching, finished (and waiting_for_opponent) for someone with no seat; "
        "finished for everyone in a room for two whose maker left before anyone joined.",
    },
    "turn": {**_nullable(_enum(*MARKS)), "description": "Whose move it is; null once the game is over."},
    "your_mark": {**_nullable(_enum(*MARKS)), "description": "null: you hold no seat in this room for two."},
    "opponent": _closed(
        {
            "name": {**_nullable({"type": "string"}), "description": "null: nobody has taken that seat yet."},
            "mark": _enum(*MARKS),
            "moves_chosen_by": {**_enum("engine", "mistral", "human"), "description": "human: another person."},
            "difficulty": {**_nullable(_enum(*DIFFICULTIES)), "description": "null: Mistral chooses the moves."},
            "thinking": {"type": "boolean"},
        }
    ),
    "winner": _nullable(_enum(*MARKS)),
    "forfeited_by": {**_nullable(_enum(*MARKS)), "description": "The mark of a person who left an unfinished game."},
    "winning_line": _nullable({"type": "array", "items": CELL, "minItems": 3, "maxItems": 3}),
    "legal_moves": {"type": "array", "items": CELL, "uniqueItems": True, "maxItems": 9},
    "moves": {
        "type": "array",
        "maxItems": 9,
        "items": _closed(
            {
                "mark": _enum(*MARKS),
                "position": CELL,
                "by": _enum("you", "opponent", "engine", "mistral", "human"),
                "via": WHENCE,
                "at": WHEN,
            }
        ),
    },
    "chat": {
        "type": "array",
        "maxItems": CHAT_KEPT,
        "description": "Oldest first; older lines scroll away.",
        "items": _closed(
            {"from": _enum("you", "opponent", *MARKS), "text": {"type": "string"}, "at": TIME, "via": WHENCE}
        ),
    },
    "next_step": {"type": "string"},
    "version": {"type": "integer", "minimum": 0, "description": "Goes up with every move and chat line."},
    "created_at": TIME,
    "updated_at": TIME,
    "links": _closed(
        {
            "play": {"type": "string", "description": "The player's live board, where one can play."},
            "watch": {"type": "string", "description": "The same board for spectators, who cannot play."},
        },
        description="The room's pages: absolute URLs in replies, paths in error bodies.",
    ),
}
COUNTS = {"wins": {"type": "integer", "minimum": 0}, "losses": {"type": "integer", "minimum": 0},
          "draws": {"type": "integer", "minimum": 0}}  # fmt: skip
RECORD = {
    "games": {"type": "integer", "minimum": 0},
    **COUNTS,
    "against": _closed({against: _closed(COUNTS) for against in AGAINST}, description="Per opponent kind."),
}
LAST_TURN = _closed(
    {"you": CELL, "opponent": {**_nullable(CELL), "description": "null: your move ended the game."}},
    description="What the move did; only in move replies.",
)

SCHEMAS = {
    "RoomState": _closed(ROOM_STATE, description="A room as error bodies (and MCP's structured content) carry it."),
    "Room": _closed(
        {
            **ROOM_STATE,
            "last_turn": LAST_TURN,
            "markdown": {"type": "string", "description": "As a chat shows it."},
            "player_token": {**TOKEN, "description": "Your seat's token: only when you take a seat. Keep it secret."},
        },
        optional=("last_turn", "player_token"),
        description="A room as REST answers it.",
    ),
    "Turn": {"allOf": [_ref("Room"), {"required": ["last_turn"]}], "description": "A room after a whole turn."},
    "Error": _closed(
        {
            "error": _closed(
                {
                    "code": {
                        "type": "string",
                        "description": "Stable, like invalid_request, invalid_position, room_not_found, "
                        "cell_occupied, game_over, not_your_turn, stale_version, rate_limited, too_many_rooms, "
                        "unauthorized, origin_not_allowed, host_not_allowed, request_entity_too_large, not_found.",
                    },
                    "message": {"type": "string", "description": "What went wrong and what to do instead."},
                    "retry_after": {"type": "integer", "minimum": 1, "description": "Seconds to wait (429, 503)."},
                },
                optional=("retry_after",),
            ),
            "room": _ref("RoomState"),
        },
        optional=("room",),
        description="Every error; `room` when it happened in one.",
    ),
    "Busy": {"allOf": [_ref("Error"), {"properties": {"error": {"required": ["retry_after"]}}}]},
    "History": _closed(
        {
            **{key: ROOM_STATE[key] for key in ("room_id", "status", "your_mark", "winner", "winning_line")},
            **{key: ROOM_STATE[key] for key in ("forfeited_by", "version")},
            "against": {**_enum(*AGAINST), "description": "The engine's level, mistral, or people."},
            "players": _closed(
                {
                    mark: _closed(
                        {
                            "name": {**_nullable({"type": "string"}), "description": "null: none given, or no one."},
                            "kind": _enum("human", "engine", "mistral"),
                        }
                    )
                    for mark in MARKS
                }
            ),
            "moves": {
                "type": "array",
                "maxItems": 9,
                "description": "In order; `board` is the board after the move, to replay the game.",
                "items": _closed(
                    {
                        "number": {"type": "integer", "minimum": 1, "maximum": 9},
                        **ROOM_STATE["moves"]["items"]["properties"],
                        "player": {**_nullable({"type": "string"}), "description": "The name of who moved."},
                        "board": ROOM_STATE["board"],
                    }
                ),
            },
            "chat": ROOM_STATE["chat"],
            "chat_earlier": {"type": "integer", "minimum": 0, "description": "Lines said before the kept ones."},
            "created_at": TIME,
            "updated_at": TIME,
            "links": ROOM_STATE["links"],
            "markdown": {"type": "string", "description": "As a chat shows it."},
        },
        description="A game from its first move, as the holder of the X-Player-Token sees it.",
    ),
    "Stats": _closed(
        {
            "games": {"type": "integer", "minimum": 0, "description": "Finished games counted, each once."},
            "leaderboard": {
                "type": "array",
                "maxItems": LEADERS_MOST,
                "description": "Named players, most wins first (then fewest losses, most draws).",
                "items": _closed({"rank": {"type": "integer", "minimum": 1}, "name": {"type": "string"}, **RECORD}),
            },
            "player": _closed(
                {"name": {"type": "string"}, **RECORD}, description="The record of the `name` asked about."
            ),
            "you": _closed(RECORD, description="The record of the X-Player-Token's seat."),
            "markdown": {"type": "string", "description": "As a chat shows it."},
        },
        optional=("player", "you"),
    ),
    "Health": _closed(
        {
            "status": {"type": "string", "const": "ok"},
            "rooms": {"type": "integer", "minimum": 0},
            "opponent": {"type": "string", "description": "Who plays O."},
        }
    ),
    # Request bodies stay open: the app ignores keys it does not know.
    "NewRoom": {
        "type": "object",
        "properties": {
            "difficulty": {
                **_nullable(_enum(*DIFFICULTIES)),
                "description": "Omitted or null: Mistral plays if the server has a key, else the default level.",
            },
            "opponent": {
                **_enum("ai", "human"),
                "description": "ai (the default): play the opponent. human: a room for two people; you take a seat.",
            },
            "name": NAME,
        },
    },
    "Join": {"type": "object", "properties": {"name": NAME}},
    "Leave": {"type": "object", "properties": {"player_token": TOKEN}, "required": ["player_token"]},
    "Move": {
        "type": "object",
        "properties": {
            "position": {**CELL, "description": "The cell to play: 0-8, left to right, top to bottom."},
            "expected_version": {
                **_nullable({"type": "integer"}),
                "description": "The `version` of the room you saw: if the room has changed since, the move is "
                "refused (409 stale_version) rather than played on a board you never saw. Omitted or null: no check.",
            },
            "player_token": TOKEN,
        },
        "required": ["position"],
    },
    "Chat": {
        "type": "object",
        "properties": {
            "message": {
                "type": "string",
                "minLength": 1,
                "maxLength": MESSAGE_LIMIT,
                "pattern": f"^[^{CONTROLS}]*[^{BLANK}{CONTROLS}][^{CONTROLS}]*$",  # fit, and not blank
            },
            "player_token": TOKEN,
        },
        "required": ["message"],
    },
}


def _error(description: str, schema: str = "Error", **extra) -> dict:
    return {"description": description, "content": _json(_ref(schema)), **extra}


RESPONSES = {
    "400": _error("invalid_request (the body is not a JSON object, or a value is wrong) or invalid_position."),
    "401": _error(
        "unauthorized, only when the server sets MCP_AUTH_TOKEN: the bearer token is missing or wrong.",
        headers={"WWW-Authenticate": _header('The scheme to use: Bearer realm="tictactoe".')},
    ),
    "403": _error(
        "origin_not_allowed: the request comes from a web page on another site (its Origin header); "
        "watch_only: spectators cannot move; seat_required: in a room for two, no seat matches the player_token."
    ),
    "404": _error("room_not_found: no room with that id (rooms expire); not_found: no such path."),
    "409": _error(
        "The move cannot be played now, and nothing changed: cell_occupied, game_over, not_your_turn or "
        "stale_version (`room` shows the board); or room_full: both seats are taken."
    ),
    "413": _error("request_entity_too_large: the body is over 16 KiB (or, on any route, over 64 KiB)."),
    "421": _error("host_not_allowed: the Host header names a host this server does not answer for."),
    "429": _error(
        "rate_limited: too many requests from you; or, creating a room, too_many_rooms: the server holds its most.",
        "Busy",
        headers={"Retry-After": _header("Seconds to wait, as in `retry_after`.")},
    ),
    "503": _error(
        "too_many_viewers: the server has as many live pages open as it serves at once; or store_unavailable: the "
        "server could not save a change just now (its database is full, locked or failing), so nothing changed.",
        "Busy",
        headers={"Retry-After": _header("Seconds to wait, as in `retry_after`.")},
    ),
}
GATE_ERRORS = (403, 413, 421)  # the gate in front of every route checks Origin, body size and Host
RESUMED = 503  # looking at a room finishes a turn the server stopped in, which must be saved first
POST_ERRORS = (401, 429, 503)  # writes also need the token, if there is one, are rate limited, and are saved


def _operation(operation_id: str, summary: str, ok: dict, *errors: int, body: dict | None = None) -> dict:
    """One operation: its success response, the errors it can answer (the gate's on every one) and its body."""
    if body is not None:
        errors += POST_ERRORS
    statuses = sorted({*errors, *GATE_ERRORS})
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "responses": {**ok, **{str(status): _ref(str(status), "responses") for status in statuses}},
    }
    if body is not None:
        operation["requestBody"] = body
        operation["security"] = [{}, {"bearer": []}]  # {}: no token, unless the server sets one
    return operation


def _ok(description: str, schema: dict, status: str = "200", media_type: str = "application/json", **extra) -> dict:
    return {status: {"description": description, "content": {media_type: {"schema": schema}}, **extra}}


def _body(schema: str, required: bool = True) -> dict:
    description = "JSON, read as such whatever the Content-Type (or without one)."
    return {"required": required, "description": description, "content": _json(_ref(schema))}


def _link(operation_id: str) -> dict:
    return {"operationId": operation_id, "parameters": {"room_id": "$response.body#/room_id"}}


NEW_ROOM = _ok(
    "The new room; you are X and move first.",
    _ref("Room"),
    "201",
    headers={"Location": _header("/rooms/{room_id}: where the room is.")},
    links={"GetRoom": _link("getRoom"), "Move": _link("move"), "Chat": _link("chat")},
)
ROOM_PATH = {"parameters": [_ref("RoomId", "parameters")]}
WATCH_PATH = {"parameters": [_ref("WatchId", "parameters")]}
PAGE = {"type": "string", "description": "HTML: the board, the moves and the chat, kept live."}
STREAM = _ok(
    "Server-sent events, one `data:` line per change, each the room as JSON; it ends after a minute, and "
    "browsers reconnect by themselves.",
    {"type": "string"},
    media_type="text/event-stream",
)


def openapi_document() -> dict:
    """The document served at /openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tic-tac-toe",
            "version": "0.1.0",
            "description": "Tic-tac-toe against a trash-talking opponent: you are X and move first, and every move "
            "answers with the opponent's reply. A room is private to whoever holds its id.",
        },
        "paths": {
            "/": {
                "get": _operation(
                    "index", "How to connect.", _ok("The page.", {"type": "string"}, media_type="text/html")
                )
            },
            "/health": {"get": _operation("health", "Liveness.", _ok("Up.", _ref("Health")))},
            "/openapi.json": {"get": _operation("openapi", "This document.", _ok("OpenAPI 3.1.", {"type": "object"}))},
            "/rooms": {
                "post": _operation("createRoom", "Start a game.", NEW_ROOM, 400, body=_body("NewRoom", required=False))
            },
            "/rooms/{room_id}": {
                **ROOM_PATH,
                "get": {
                    **_operation("getRoom", "The room.", _ok("The room.", _ref("Room")), 404, RESUMED),
                    "parameters": [_ref("PlayerToken", "parameters")],
                },
            },
            "/rooms/{room_id}/history": {
                **ROOM_PATH,
                "get": {
                    **_operation(
                        "getHistory",
                        "The game from its first move: who made each, where from and when, and the chat.",
                        _ok("The history.", _ref("History")),
                        404,
                        RESUMED,
                    ),
                    "parameters": [_ref("PlayerToken", "parameters")],
                },
            },
            "/stats": {
                "get": {
                    **_operation(
                        "getStats",
                        "The leaderboard; a name's record; your seat's.",
                        _ok("The scores.", _ref("Stats")),
                        400,
                    ),
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "required": False,
                            "description": "Names on the leaderboard (default 10).",
                            "schema": {"type": "integer", "minimum": 1, "maximum": LEADERS_MOST},
                        },
                        {
                            "name": "name",
                            "in": "query",
                            "required": False,
                            "description": "A player's name, for their record.",
                            "schema": {"type": "string", "maxLength": NAME_LIMIT, "pattern": FIT},
                        },
                        _ref("PlayerToken", "parameters"),
                    ],
                },
            },
            "/rooms/{room_id}/join": {
                **ROOM_PATH,
                "post": _operation(
                    "join",
                    "Take the free seat in a room for two people.",
                    _ok("The room from your seat, with your player_token.", _ref("Room")),
                    400,
                    404,
                    409,
                    body=_body("Join", required=False),
                ),
            },
            "/rooms/{room_id}/leave": {
                **ROOM_PATH,
                "post": _operation(
                    "leave",
                    "Leave a room for two people: an unfinished game is yours lost, by forfeit.",
                    _ok("The room from your seat.", _ref("Room")),
                    400,
                    404,
                    body=_body("Leave"),
                ),
            },
            "/rooms/{room_id}/move": {
                **ROOM_PATH,
                "post": {
                    **_operation(
                        "move",
                        "Play your X; the opponent answers in the same call.",
                        _ok("The room after your move and the opponent's reply.", _ref("Turn")),
                        400,
                        404,
                        409,
                        body=_body("Move"),
                    ),
                    "parameters": [_ref("Client", "parameters")],
                },
            },
            "/rooms/{room_id}/chat": {
                **ROOM_PATH,
                "post": {
                    **_operation(
                        "chat",
                        "Talk to the opponent, who answers in character. Chat never changes the board.",
                        _ok("The room, the exchange at the end of `chat`.", _ref("Room")),
                        400,
                        404,
                        body=_body("Chat"),
                    ),
                    "parameters": [_ref("Client", "parameters")],
                },
            },
            "/rooms/{room_id}/view": {
                **ROOM_PATH,
                "get": _operation(
                    "playPage", "The player's live board.", _ok("The page.", PAGE, media_type="text/html"), 404, RESUMED
                ),
            },
            "/rooms/{room_id}/events": {
                **ROOM_PATH,
                "get": _operation("playEvents", "The room, live.", STREAM, 404, 503),
            },
            "/watch/{watch_id}": {
                **WATCH_PATH,
                "get": _operation(
                    "watchPage",
                    "A spectator's live board.",
                    _ok("The page.", PAGE, media_type="text/html"),
                    404,
                    RESUMED,
                ),
            },
            "/watch/{watch_id}/events": {
                **WATCH_PATH,
                "get": _operation("watchEvents", "The room as spectators see it (no room_id), live.", STREAM, 404, 503),
            },
            "/watch/{watch_id}/move": {
                **WATCH_PATH,
                "post": _operation("watchMove", "Refused: spectators cannot move (403 watch_only).", {}, 401, 404),
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": {
                "PlayerToken": {
                    "name": "X-Player-Token",
                    "in": "header",
                    "required": False,
                    "description": "Your seat's token: to see a room for two from your side, or for your record.",
                    "schema": TOKEN,
                },
                "Client": {
                    "name": "X-Client",
                    "in": "header",
                    "required": False,
                    "description": "page: the call comes from this server's pages, as a move's or line's `via` says. "
                    "Anything else, or none: rest.",
                    "schema": {"type": "string"},
                },
                "RoomId": {
                    "name": "room_id",
                    "in": "path",
                    "required": True,
                    "description": "The id from creating the room (also its Location header).",
                    "schema": {"type": "string", "pattern": ROOM_ID},
                },
                "WatchId": {
                    "name": "watch_id",
                    "in": "path",
                    "required": True,
                    "description": "From the room's links.watch: it shows the game and gives no right to play.",
                    "schema": {"type": "string", "pattern": ROOM_ID},
                },
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "Only when the server sets MCP_AUTH_TOKEN: that token. Otherwise none is needed.",
                }
            },
        },
    }
