"""The real server under load: many players at once against a slow model, and the same move raced and retried."""

import asyncio
import contextlib
import random
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastmcp import Client

from bench.bench import connect, run_load, serving
from tests.servers import ROOT, http
from tictactoe.game.rules import Board, O, X

REFUSALS = {"cell_occupied", "not_your_turn", "game_over"}
REST_SHOOTERS, MCP_SHOOTERS = 16, 4
LATENCY = 0.3  # seconds the fake model takes: also the window in which a raced move must arrive to be refused


@pytest.fixture(scope="module")
def served():
    """The real server with Mistral's moves, from a fake Mistral that answers after LATENCY seconds."""
    with serving(LATENCY) as (server, fake):
        yield server, fake


def assert_legal(room: dict) -> None:
    """`room` is what a legal game produces: X and O alternate from X, each cell once, board and status agree."""
    board = Board()
    for index, move in enumerate(room["moves"]):
        assert move["mark"] == (X if index % 2 == 0 else O), room["moves"]
        assert move["position"] in board.legal_moves(), room["moves"]  # a free cell, and the game not over
        board = board.push(move["position"])
    assert room["board"] == list(board.cells)
    outcome = board.outcome()
    if outcome is None:
        assert room["status"] == ("your_turn" if board.turn == X else "opponent_turn")
    else:
        assert room["status"] == {X: "won", O: "lost", None: "draw"}[outcome.winner]
    assert room["winner"] == (outcome.winner if outcome else None)


def marks_and_cells(room: dict) -> list[tuple[str, int]]:
    return [(move["mark"], move["position"]) for move in room["moves"]]


async def test_64_sse_players_finish_every_game_against_a_slow_model(served):
    server, _ = served
    results = await run_load(server.url, sse=64, http=4, games=1)
    rooms = [http("GET", f"{server.url}/rooms/{game.room_id}")[1] for game in results.games]
    assert results.errors == []
    assert len(results.games) == 68
    assert [game.status for game in results.games if not game.finished] == []
    for game, room in zip(results.games, rooms, strict=True):
        assert_legal(room)
        assert room["status"] == game.status
        seen = [(mark, cell) for you, reply in game.turns for mark, cell in ((X, you), (O, reply)) if cell is not None]
        assert marks_and_cells(room) == seen  # every move the player saw accepted, and no other
        assert {move["by"] for move in room["moves"] if move["mark"] == O} == {"mistral"}


def rest_move(url: str, room_id: str, position: int, barrier: threading.Barrier) -> tuple[bool, int, object]:
    """One REST move once every shooter is ready: (accepted, position, the room or the refusal's code)."""
    barrier.wait(timeout=10)
    status, body = http("POST", f"{url}/rooms/{room_id}/move", {"position": position})
    if status == 200:
        return True, position, body
    assert status == 409, body
    return False, position, body["error"]["code"]


async def mcp_move(client: Client, room_id: str, position: int, ready) -> tuple[bool, int, object]:
    """The same over MCP, after `ready` (the barrier, waited on in a thread)."""
    await ready
    result = await client.call_tool("make_move", {"position": position, "room_id": room_id}, raise_on_error=False)
    if not result.is_error:
        return True, position, result.structured_content
    return False, position, result.structured_content["error"]["code"]


async def volley(url: str, room: dict, clients: list[Client], pool: ThreadPoolExecutor, rng: random.Random) -> list:
    """Every shooter moves in `room` at the same moment: each legal cell, some twice or more, and taken cells."""
    cells = room["legal_moves"] + room["legal_moves"][:1] + [move["position"] for move in room["moves"]]
    positions = [cells[i % len(cells)] for i in range(REST_SHOOTERS + MCP_SHOOTERS)]
    rng.shuffle(positions)
    barrier = threading.Barrier(REST_SHOOTERS + MCP_SHOOTERS)
    loop = asyncio.get_running_loop()
    rest = [loop.run_in_executor(pool, rest_move, url, room["room_id"], p, barrier) for p in positions[:REST_SHOOTERS]]
    mcp = [
        mcp_move(client, room["room_id"], p, loop.run_in_executor(pool, barrier.wait, 10))
        for client, p in zip(clients, positions[REST_SHOOTERS:], strict=True)
    ]
    return await asyncio.gather(*rest, *mcp)


def move_requests(fake) -> int:
    """Calls that asked the model for a move (not for a line or a chat answer)."""
    return sum('"move"' in request["messages"][0]["content"] for request in list(fake.requests))


async def raced_turn(url: str, fake, room: dict, clients: list[Client], pool, rng: random.Random) -> dict:
    """A turn raced by every shooter: exactly one move lands, the opponent answers it once, a retry changes nothing."""
    asked = move_requests(fake)
    outcomes = await volley(url, room, clients, pool, rng)
    accepted = [(position, state) for ok, position, state in outcomes if ok]
    assert len(accepted) == 1, outcomes
    assert {code for ok, _, code in outcomes if not ok} <= REFUSALS
    [(position, state)] = accepted
    reply = state["last_turn"]["opponent"]
    ended = Board(tuple(room["board"])).push(position).is_over()
    assert (reply is None) == ended
    expected = marks_and_cells(room) + [(X, position)] + ([] if ended else [(O, reply)])
    await assert_retry_refused(url, clients[0], room["room_id"], position)
    status, room = http("GET", f"{url}/rooms/{room['room_id']}")
    assert status == 200
    assert_legal(room)
    assert marks_and_cells(room) == expected
    assert move_requests(fake) - asked == (0 if ended else 1)  # the opponent replied exactly once
    return room


async def assert_retry_refused(url: str, client: Client, room_id: str, position: int) -> None:
    """The accepted move sent again, over MCP and over REST, is refused (and so changes nothing)."""
    retried = await client.call_tool("make_move", {"position": position, "room_id": room_id}, raise_on_error=False)
    assert retried.is_error
    assert retried.structured_content["error"]["code"] in REFUSALS
    status, body = http("POST", f"{url}/rooms/{room_id}/move", {"position": position})
    assert status == 409
    assert body["error"]["code"] in REFUSALS


async def test_concurrent_and_retried_moves_apply_once(served):
    server, fake = served
    rng = random.Random(3)
    with ThreadPoolExecutor(REST_SHOOTERS + MCP_SHOOTERS) as pool:
        async with contextlib.AsyncExitStack() as stack:
            clients = [await stack.enter_async_context(connect(server.url, "sse")) for _ in range(MCP_SHOOTERS)]
            for _ in range(3):
                status, room = http("POST", f"{server.url}/rooms")
                assert status == 201
                while room["status"] == "your_turn":
                    room = await raced_turn(server.url, fake, room, clients, pool, rng)
                assert room["status"] in ("won", "lost", "draw")


def test_bench_script_prints_its_figures():
    tiny = ["--sse", "4", "--http", "2", "--latency", "0.05", "--think", "0", "--rooms", "200"]
    command = [sys.executable, "bench/bench.py", *tiny]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ("p50", "p95", "p99", "calls/s", "bytes per room", "games finished: 6/6 (100.0%)", "errors: 0"):
        assert figure in result.stdout
