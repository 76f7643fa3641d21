"""JSON from clients, read strictly: what cannot be stored, shown or parsed again is refused at the edge.

Python's own parser accepts what no store can keep (a lone surrogate, "\\ud800", which no UTF-8 encoder takes),
what JSON does not have (NaN, Infinity), and nesting that runs it out of stack. Every body that reaches the game
passes here first, REST and MCP alike.
"""

from __future__ import annotations

import json

from tictactoe.game.errors import InvalidRequest
from tictactoe.state.text import valid_text

MAX_DEPTH = 32  # arrays and objects nested in each other; the deepest request this server takes has 4


class JsonRefused(ValueError):
    """A body this server will not read; the message says why, in words a client can act on."""

    def __init__(self, message: str, syntax: bool = True):
        super().__init__(message)
        self.message = message
        self.syntax = syntax  # False: well-formed JSON whose text is not valid Unicode
        self.value: object = None  # what the body held, when it was well-formed


def parse(body: bytes) -> object:
    """The JSON value `body` holds: UTF-8, nested at most MAX_DEPTH deep, with numbers that fit and text that is
    valid Unicode. Raises JsonRefused otherwise."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise JsonRefused("The body is not UTF-8 text.") from None
    try:
        value = _DECODER.decode(text)
    except JsonRefused:
        raise
    except json.JSONDecodeError as error:
        where = f"line {error.lineno} column {error.colno}"
        raise JsonRefused(f"The body is not valid JSON: {error.msg} at {where}.") from None
    except RecursionError:
        raise _too_deep() from None
    except ValueError:  # an integer of more digits than Python converts
        raise JsonRefused("The body holds a number too long to read.") from None
    if "\\u" not in text and text.count("[") + text.count("{") <= MAX_DEPTH:
        return value  # no escape, so no lone surrogate; too few brackets to nest too deep: nothing to walk
    try:
        _check(value)
    except JsonRefused as refused:
        refused.value = value
        raise
    return value


def _check(value: object) -> None:
    """Refuse `value` if it nests deeper than MAX_DEPTH or a string (or key) in it holds a lone surrogate, which
    only an escape can put there and no store can keep."""
    stack: list[tuple[object, str, int]] = [(value, "", 0)]
    while stack:
        item, path, level = stack.pop()
        if isinstance(item, str):
            _storable(item, path or "the body")
            continue
        if isinstance(item, dict):
            children = item.items()
        elif isinstance(item, list):
            children = enumerate(item)
        else:
            continue
        if level >= MAX_DEPTH:
            raise _too_deep()
        for key, child in children:
            inner = f"{path}.{key}" if path else str(key)
            if isinstance(key, str):
                _storable(key, f"a key in {path or 'the body'}")
            stack.append((child, inner, level + 1))


def _storable(text: str, where: str) -> None:
    """Refuse `text` if no store could keep it (the service's own rule, and its words, for every field)."""
    try:
        valid_text(text, where, shown=False)
    except InvalidRequest as error:
        raise JsonRefused(error.message, syntax=False) from None


def _too_deep() -> JsonRefused:
    return JsonRefused(f"The JSON nests arrays and objects deeper than {MAX_DEPTH} levels.")


def _no_constant(name: str) -> object:
    raise JsonRefused(f"The body is not valid JSON: {name} is not a JSON number.")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # made once: json.loads with an option makes one a call
