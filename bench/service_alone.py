"""The service without a server: moves a second on each store, and the bytes one room holds (tracemalloc)."""

from __future__ import annotations

import asyncio
import gc
import random
import tempfile
import time
import tracemalloc

from tictactoe.players.opponent import Opponent
from tictactoe.services.games import MESSAGE_LIMIT, GameService
from tictactoe.state.room import CHAT_KEPT, Room
from tictactoe.state.sqlite_store import SqliteRoomStore
from tictactoe.state.store import RoomStore

STORE_GAMES = 300  # games per store for the moves-a-second figure


def store_throughput(kind: str, games: int = STORE_GAMES) -> float:
    """Moves a second through the service alone (no HTTP), on the memory store or on SQLite in a temporary file."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteRoomStore(f"{folder}/rooms.db") if kind == "sqlite" else RoomStore()
        service = GameService(Opponent(None, random.Random(5)), store=store)
        loop, rng, moves = asyncio.new_event_loop(), random.Random(6), 0
        start = time.perf_counter()
        for _ in range(games):
            moves += loop.run_until_complete(play_out(service, service.create_room("easy"), rng))
        elapsed = time.perf_counter() - start
        loop.close()
        if isinstance(store, SqliteRoomStore):
            store.close()
    return moves / elapsed


def bytes_per_room(count: int = 2000, worst: bool = False) -> float:
    """Bytes one room holds (tracemalloc): `count` rooms played to the end, with two chat messages or a full chat."""
    service = GameService(Opponent(None, random.Random(7)))
    loop = asyncio.new_event_loop()  # made before tracing starts, so the loop's own memory is not counted
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loop.run_until_complete(fill_rooms(service, count, worst))
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    finally:
        loop.close()
    return used / count


async def play_out(service: GameService, room: Room, rng: random.Random) -> int:
    """Random legal moves until the game ends; how many the human made."""
    moves = 0
    while room.status() == "your_turn":
        await service.play(room.id, rng.choice(room.board.legal_moves()))
        moves += 1
    return moves


async def fill_rooms(service: GameService, count: int, worst: bool) -> None:
    rng = random.Random(1)
    for i in range(count):
        room = service.create_room()
        await play_out(service, room, rng)
        if worst:
            fill_chat(room, i)
        else:
            for text in (f"Good luck! ({i})", f"Well played. ({i})"):
                await service.chat(room.id, text)


def fill_chat(room: Room, number: int) -> None:
    """The chat at its kept maximum of longest lines: an upper bound, as the opponent's lines are shorter."""
    with room.lock:
        for line in range(CHAT_KEPT):
            # Distinct strings, as requests bring them; the emoji makes CPython store 4 bytes a character.
            room.say("you", f"{number}-{line} 🤖 ".ljust(MESSAGE_LIMIT, "x"))
