"""History and scores: every move with who, where from and when; each finished game counted once, on both stores."""

import json
import random
import sqlite3
import time

import pytest
from fastmcp import Client

from tictactoe.doors.markdown import history_markdown, stats_markdown
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.game.errors import InvalidRequest
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.state.answers import CHAT_ANSWERED
from tictactoe.state.database import MIGRATIONS
from tictactoe.state.room import CHAT_KEPT
from tictactoe.state.scores import AGAINST
from tictactoe.state.seats import Player
from tictactoe.state.sqlite_store import SqliteRoomStore

NO_GAMES = {"games": 0, "wins": 0, "losses": 0, "draws": 0}


def record(**counts: dict[str, int]) -> dict:
    """A record with these counts against each kind of opponent (wins, losses, draws), the totals added up."""
    against = {kind: {"wins": 0, "losses": 0, "draws": 0} for kind in AGAINST}
    total = dict(NO_GAMES)
    for kind, kind_counts in counts.items():
        against[kind].update(kind_counts)
        for column, count in kind_counts.items():
            total[column] += count
            total["games"] += count
    return {**total, "against": against}


def set_up(room, *positions: int) -> None:
    """Play these cells in turn, X first, as a game over REST against the engine would have."""
    with room.lock:
        for number, position in enumerate(positions):
            human = number % 2 == 0
            room.play("X" if human else "O", position, "human" if human else "engine", "rest" if human else "server")


async def win_against_easy(service: GameService, room) -> None:
    """X takes the top row, O having played where it cannot stop it."""
    set_up(room, 0, 3, 1, 4)
    await service.play(room.id, 2, via="rest")


async def test_the_history_lists_every_move_with_who_where_from_and_when(service):
    started = time.time()
    room = service.create_room("hard", player=Player("connection:a", "Ada"))
    await service.play(room.id, 0, via="mcp")
    await service.chat(room.id, "Nice centre.", via="page")
    await service.play(room.id, 8, via="rest")
    history = room.history()
    moves = history["moves"]
    assert [(m["number"], m["mark"], m["position"], m["by"], m["via"], m["player"]) for m in moves] == [
        (1, "X", 0, "you", "mcp", "Ada"),
        (2, "O", 4, "engine", "server", "O-Bot"),
        (3, "X", 8, "you", "rest", "Ada"),
        (4, "O", moves[3]["position"], "engine", "server", "O-Bot"),
    ]
    assert started <= moves[0]["at"] <= moves[1]["at"] <= moves[2]["at"] <= moves[3]["at"] <= time.time()
    assert [m["board"] for m in moves[:3]] == [
        ["X", "", "", "", "", "", "", "", ""],
        ["X", "", "", "", "O", "", "", "", ""],
        ["X", "", "", "", "O", "", "", "", "X"],
    ]
    assert moves[-1]["board"] == room.to_dict()["board"]
    assert history["players"] == {"X": {"name": "Ada", "kind": "human"}, "O": {"name": "O-Bot", "kind": "engine"}}
    assert [(line["from"], line["via"]) for line in history["chat"]] == [
        ("opponent", "server"),  # the welcome
        ("opponent", "server"),
        ("you", "page"),
        ("opponent", "server"),
        ("opponent", "server"),
    ]
    assert history["chat"][2]["text"] == "Nice centre."
    assert (history["against"], history["status"], history["chat_earlier"]) == ("hard", "your_turn", 0)
    markdown = history_markdown(history)
    assert "1. **X** on 0 · you · via mcp · " in markdown
    assert "2. **O** on 4 · engine · via server · " in markdown
    assert "X: Ada · O: O-Bot (engine)" in markdown
    assert " UTC **You:** Nice centre." in markdown and " UTC **O-Bot:** " in markdown


async def test_the_history_says_how_many_chat_lines_scrolled_away(service):
    room = service.create_room()
    for number in range(CHAT_KEPT):
        await service.chat(room.id, f"line {number}")
    history = room.history()
    assert len(history["chat"]) == CHAT_KEPT
    assert history["chat_earlier"] == 2 * CHAT_KEPT + 1 - CHAT_KEPT  # the welcome, and a line and answer each
    assert f"({CHAT_KEPT + 1} earlier lines no longer kept)" in history_markdown(history)


async def test_a_room_answer_carries_the_latest_lines_and_the_history_every_line_kept_with_when_and_where(service):
    room = service.create_room()
    started = time.time()
    for number in range(CHAT_ANSWERED):
        await service.chat(room.id, f"line {number}", via="rest")
    state, history = room.to_dict(), room.history()
    assert state["chat"] == [{"from": line["from"], "text": line["text"]} for line in history["chat"][-CHAT_ANSWERED:]]
    assert state["chat"][-2] == {"from": "you", "text": f"line {CHAT_ANSWERED - 1}"}
    assert len(history["chat"]) == 2 * CHAT_ANSWERED + 1  # the welcome, and a line and answer each
    assert [(line["from"], line["via"]) for line in history["chat"][-2:]] == [("you", "rest"), ("opponent", "server")]
    assert started <= history["chat"][-2]["at"] <= history["chat"][-1]["at"] <= time.time()


def test_rest_history_is_from_the_callers_seat_and_refuses_a_wrong_token(rest_client):
    host = rest_client.post("/rooms", json={"opponent": "human", "name": "Ann"}).get_json()
    guest = rest_client.post(f"/rooms/{host['room_id']}/join", json={"name": "Ben"}).get_json()
    first = host if host["your_mark"] == "X" else guest
    moved = rest_client.post(
        f"/rooms/{host['room_id']}/move",
        json={"position": 4, "player_token": first["player_token"]},
        headers={"X-Client": "page"},
    )
    assert moved.status_code == 200
    url = f"/rooms/{host['room_id']}/history"
    mine = rest_client.get(url, headers={"X-Player-Token": first["player_token"]}).get_json()
    assert [(m["by"], m["via"], m["player"]) for m in mine["moves"]] == [("you", "page", mine["players"]["X"]["name"])]
    assert mine["your_mark"] == "X" and mine["against"] == "people"
    assert {mark: player["name"] for mark, player in mine["players"].items()} == {
        host["your_mark"]: "Ann",
        guest["your_mark"]: "Ben",
    }
    watcher = rest_client.get(url).get_json()
    assert (watcher["your_mark"], watcher["moves"][0]["by"], watcher["status"]) == (None, "human", "watching")
    assert watcher["markdown"] == history_markdown({k: v for k, v in watcher.items() if k != "markdown"})
    assert rest_client.get(url, headers={"X-Player-Token": "forged"}).status_code == 403
    missing = rest_client.get("/rooms/nope/history")
    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "room_not_found")


async def test_a_finished_game_counts_once_for_its_player_and_name(service):
    room = service.create_room("easy", player=Player("connection:a", "Ada"))
    await win_against_easy(service, room)
    await service.chat(room.id, "gg")  # changes after the end count nothing more
    service.room(room.id).to_dict()
    stats = service.stats(name="Ada", player="connection:a")
    assert stats["games"] == 1
    assert stats["leaderboard"] == [{"rank": 1, "name": "Ada", **record(easy={"wins": 1})}]
    assert stats["player"] == {"name": "Ada", **record(easy={"wins": 1})}
    assert stats["you"] == record(easy={"wins": 1})
    assert service.stats(player="connection:b")["you"] == record()


async def test_the_leaderboard_ranks_names_by_wins_then_losses_and_draws(service):
    async def finish(name: str, outcome: str) -> None:
        room = service.create_room("medium", player=Player(f"connection:{name}", name))
        set_up(room, *((0, 1, 2, 4, 3, 5, 7, 6) if outcome == "draw" else (0, 3, 1, 4)))
        await service.play(room.id, {"won": 2, "lost": 8, "draw": 8}[outcome])  # at 8, X lets O take its row
        assert room.status() == outcome

    for name, outcome in [("Cy", "draw"), ("Bo", "won"), ("Al", "won"), ("Al", "lost"), ("Bo", "draw")]:
        await finish(name, outcome)
    board = service.stats()["leaderboard"]
    assert [(row["rank"], row["name"], row["wins"], row["losses"], row["draws"]) for row in board] == [
        (1, "Bo", 1, 0, 1),
        (2, "Al", 1, 1, 0),
        (3, "Cy", 0, 0, 1),
    ]
    assert [row["name"] for row in service.stats(limit=2)["leaderboard"]] == ["Bo", "Al"]
    assert service.stats()["games"] == 5
    assert "| 1 | Bo | 1 | 0 | 1 | 0-0-0 | 1-0-1 | 0-0-0 | 0-0-0 | 0-0-0 |" in stats_markdown(service.stats())


async def test_people_and_a_forfeit_count_for_both_seats(service):
    host = service.people.open_room("Ann", "local", "connection:ann")
    guest = service.people.join(host.room.id, "Ben")  # no connection: the seat's token is the key
    service.people.leave(host.room.id, guest.seat.token)
    stats = service.stats(name="Ann", player="connection:ann")
    assert stats["you"] == record(people={"wins": 1})
    assert service.stats(name="Ben")["player"] == {"name": "Ben", **record(people={"losses": 1})}
    assert stats["games"] == 1  # one game, in two records


@pytest.mark.parametrize("limit", [0, 101, "ten", 2.5, True])
def test_a_bad_limit_is_refused(service, limit):
    with pytest.raises(InvalidRequest, match="limit must be a whole number from 1 to 100"):
        service.stats(limit)


def test_rest_stats_answers_the_leaderboard_a_name_and_a_seat(rest_client):
    room = rest_client.post("/rooms", json={"difficulty": "easy", "name": "Zoe"}).get_json()
    for position in (4, 0, 8, 2, 6, 1, 3, 5, 7):
        rest_client.post(f"/rooms/{room['room_id']}/move", json={"position": position})
    finished = rest_client.get(f"/rooms/{room['room_id']}").get_json()
    assert finished["status"] in ("won", "lost", "draw")
    column = {"won": "wins", "lost": "losses", "draw": "draws"}[finished["status"]]
    body = rest_client.get("/stats?name=Zoe&limit=5").get_json()
    assert body["games"] == 1
    assert body["player"] == {"name": "Zoe", **record(easy={column: 1})}
    assert body["leaderboard"] == [{"rank": 1, "name": "Zoe", **record(easy={column: 1})}]
    assert body["markdown"] == stats_markdown({k: v for k, v in body.items() if k != "markdown"})
    assert rest_client.get("/stats", headers={"X-Player-Token": "no-such-seat"}).get_json()["you"] == record()
    for query in ("limit=0", "limit=abc", "limit=-3", "name=" + "x" * 41):
        response = rest_client.get(f"/stats?{query}")
        assert (response.status_code, response.get_json()["error"]["code"]) == (400, "invalid_request")


async def test_mcp_history_and_stats_tools(service):
    async with Client(build_mcp(service), mode="legacy") as client:
        created = await client.call_tool("create_room", {"difficulty": "easy", "name": "Max"})
        set_up(service.room(created.structured_content["room_id"]), 0, 3, 1, 4)
        await client.call_tool("make_move", {"position": 2})
        history = await client.call_tool("get_game_history", {})
        assert history.structured_content["moves"][-1]["via"] == "mcp"
        assert history.structured_content["players"]["X"]["name"] == "Max"
        assert history.content[0].text == history_markdown(history.structured_content)
        stats = await client.call_tool("get_stats", {"name": "Max"})
        assert stats.structured_content["you"] == record(easy={"wins": 1})
        assert stats.structured_content["player"] == {"name": "Max", **record(easy={"wins": 1})}
        assert "**You**: 1 games: 1 won, 0 lost, 0 drawn (vs easy 1-0-0)." in stats.content[0].text
        bad = await client.call_tool("get_stats", {"limit": 0}, raise_on_error=False)
        assert bad.is_error
    async with Client(build_mcp(service), mode="legacy") as other:  # another connection: its own record
        assert (await other.call_tool("get_stats", {})).structured_content["you"] == record()


async def test_scores_survive_a_restart_and_count_each_game_once(tmp_path):
    path = str(tmp_path / "rooms.db")
    before = GameService(Opponent(None, random.Random(3)), store=SqliteRoomStore(path))
    room = before.create_room("easy", player=Player("connection:a", "Ada"))
    await win_against_easy(before, room)
    before.rooms.close()
    for _ in range(2):
        after = GameService(Opponent(None, random.Random(3)), store=SqliteRoomStore(path))
        after.room(room.id).to_dict()
        await after.chat(room.id, "still here")
        assert after.stats(name="Ada")["player"] == {"name": "Ada", **record(easy={"wins": 1})}
        assert after.stats()["games"] == 1
        assert after.room(room.id).history()["moves"][-1]["via"] == "rest"
        after.rooms.close()


def test_a_database_from_before_history_is_migrated_and_its_finished_games_counted_once(tmp_path):
    path = str(tmp_path / "rooms.db")
    old = sqlite3.connect(path, isolation_level=None)
    old.execute(MIGRATIONS[0])
    old.execute("PRAGMA user_version = 1")
    snapshot = {  # a room as the first schema stored it: moves without via or at, seats without a score key
        "id": "A" * 22, "watch_id": "B" * 22, "difficulty": "easy", "opponent_name": "O-Bot", "two_people": False,
        "seats": [], "forfeited_by": None, "moves": [["X", 0, "human"], ["O", 3, "engine"], ["X", 1, "human"],
        ["O", 4, "engine"], ["X", 2, "human"]], "chat": [["O", "Hi.", 1.0]], "version": 7, "created_at": 1.0,
        "updated_at": time.time(),
    }  # fmt: skip
    old.execute("INSERT INTO rooms VALUES (?, ?, ?, ?)", ("A" * 22, "B" * 22, time.time(), json.dumps(snapshot)))
    old.close()
    for _ in range(2):
        store = SqliteRoomStore(path)
        history = store.get("A" * 22).history()
        assert [(m["via"], m["at"]) for m in history["moves"]] == [(None, None)] * 5
        assert (history["status"], history["chat"][0]["via"]) == ("won", None)
        assert store.scores.games() == 1
        store.close()
        rows = sqlite3.connect(path).execute("SELECT player, name, against, wins, losses, draws FROM scores")
        assert rows.fetchall() == [("", "", "easy", 1, 0, 0)]  # no key, no name: in the total, nobody's record
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_scores_kept_before_names_had_totals_of_their_own_rank_and_count_as_they_did(tmp_path):
    path = str(tmp_path / "rooms.db")
    old = sqlite3.connect(path, isolation_level=None)
    for migration in MIGRATIONS[:3]:
        old.execute(migration)
    old.execute("PRAGMA user_version = 3")
    old.executemany(
        "INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?)",
        [
            ("k1", "Ada", "easy", 2, 0, 0),  # Ada from two connections: 2 wins and a loss
            ("k2", "Ada", "hard", 0, 1, 0),
            ("k3", "Bo", "people", 1, 0, 1),  # two games between people, in both players' records
            ("k4", "Cy", "people", 0, 1, 1),
            ("k5", "", "medium", 3, 0, 0),  # no name: counted, on nobody's line of the board
        ],
    )
    old.close()
    store = SqliteRoomStore(path)
    board = [(row["rank"], row["name"], row["wins"], row["losses"], row["draws"]) for row in store.scores.leaderboard()]
    assert board == [(1, "Ada", 2, 1, 0), (2, "Bo", 1, 0, 1), (3, "Cy", 0, 1, 1)]
    assert store.scores.games() == 3 + 2 + 3
    store.close()
