"""Routes that say what they answer: each HTTP route of a door is declared with its Operation (what it takes, what
it answers, which errors), from which both the Flask app and the OpenAPI document are made."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tictactoe.services.games import GameService

T = TypeVar("T")


@dataclass(frozen=True)
class Operation:
    """What one route takes and answers, in the terms of the typed models."""

    id: str
    summary: str
    answer: object = None  # a typed answer (or a union of them); None for what is not JSON
    description: str = ""  # of a success
    status: int = 200
    media_type: str = "application/json"
    errors: tuple[int, ...] = ()  # statuses beside the ones every route can answer
    body: type | None = None  # a typed request body
    body_required: bool = True
    query: type | None = None  # typed query parameters
    headers: tuple[str, ...] = ()  # request headers it reads, by name (see openapi.HEADERS)
    answer_headers: dict[str, str] = field(default_factory=dict)  # response headers, with what they say
    links: tuple[str, ...] = ()  # operations the answer's room_id leads to


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {parameters}, as OpenAPI writes them
    operation: Operation
    handler: Callable | None  # None: documented here, served elsewhere (the live streams, on the event loop)


class Routes:
    """A door's routes, in the order they are documented."""

    def __init__(self) -> None:
        self._routes: list[Route] = []

    def add(self, method: str, path: str, operation: Operation) -> Callable[[Callable], Callable]:
        """Declare `handler` as the route for `method` and `path` (a decorator)."""

        def declare(handler: Callable) -> Callable:
            self._routes.append(Route(method, path, operation, handler))
            return handler

        return declare

    def document(self, method: str, path: str, operation: Operation) -> None:
        """Document a route another part of the server serves."""
        self._routes.append(Route(method, path, operation, None))

    def __iter__(self) -> Iterator[Route]:
        return iter(self._routes)


@dataclass(frozen=True)
class Api:
    """What a route's handler works with: the service, and a way to run its coroutines from Flask's threads."""

    service: GameService
    run: Callable[[Coroutine[Any, Any, T]], T]
