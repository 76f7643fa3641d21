"""A text-only host plays whole games: Mistral's own MCP client (RunContext with MCPClientSSE and
MCPClientStreamableHTTP) hands its model only the text of each result, and the model here is a script that reads
that text and nothing else (tests/fake_mistral.py), against the real server."""

import asyncio
import re

import pytest
from mistralai.client import Mistral
from mistralai.extra.mcp.sse import MCPClientSSE, SSEServerParams
from mistralai.extra.mcp.streamable_http import MCPClientStreamableHTTP, StreamableHTTPServerParams
from mistralai.extra.run.context import RunContext

from tests.fake_mistral import FakeMistral
from tests.servers import Served, http

ROOM = r"room_id `([\w-]{22})`"
FINISHED = re.compile(r"You won!|won\.\*\*|It's a draw")


def fact(pattern: str, text: str) -> str | None:
    found = re.search(pattern, text)
    return found.group(1) if found else None


def next_call(text: str, token: str | None) -> tuple[str, dict] | str:
    """What a model that reads `text` (a room's, as the server wrote it) calls next: a move on its turn, else a wait;
    or, the game over, its last words. Everything it passes it found in the text."""
    room_id = fact(ROOM, text)
    if FINISHED.search(text):
        return f"The game in room {room_id} is over."
    seat = {"player_token": token} if token else {}
    if "**Your turn**" in text:
        cells = fact(r"Free cells: ([\d, ]+)", text)
        version = int(fact(r"; version (\d+)", text))
        move = {"room_id": room_id, "position": int(cells.split(",")[0]), "expected_version": version}
        return "make_move", {**move, **seat}
    return "wait_for_turn", {"room_id": room_id, "timeout_seconds": 10, **seat}


def player(seen: list[str]) -> tuple[str, dict] | str:
    """A scripted model that starts or joins the game the user asks for, then plays it from the text alone."""
    asked, heard = seen[0], seen[1:]
    if not heard:
        invited = fact(r"join room ([\w-]{22})", asked)
        if invited:
            return "join_room", {"room_id": invited, "name": "Ben"}
        return "create_room", {"opponent": "human", "name": "Ann"} if "a friend" in asked else {"difficulty": "easy"}
    if len(heard) == 1 and "Waiting for a second player" in heard[0]:  # the room for two just made
        return f"Ask your friend to join room {fact(ROOM, heard[0])}."
    token = next((found for text in heard if (found := fact(r"your player_token `([\w-]+)`", text))), None)
    latest = next(text for text in reversed(heard) if "room_id `" in text)  # the user's words carry none
    return next_call(latest, token)


@pytest.fixture(scope="module")
def served():
    fake = FakeMistral(model=player).start()
    server = Served("mcp_server.py")
    yield server, fake
    server.stop()
    fake.stop()


def mcp_client(url: str, transport: str):
    if transport == "sse":
        return MCPClientSSE(sse_params=SSEServerParams(url=f"{url}/sse", timeout=10))
    return MCPClientStreamableHTTP(params=StreamableHTTPServerParams(url=f"{url}/mcp"))


async def run(fake: FakeMistral, url: str, transport: str, said: str, conversation: str | None = None):
    """One run of Mistral's MCP client: the user says `said`; the model's last words, and the conversation."""
    mistral = Mistral(api_key="test-key", server_url=fake.url)  # its connections belong to this test's event loop
    async with RunContext(model="fake-model", conversation_id=conversation) as context:
        await context.register_mcp_client(mcp_client(url, transport))
        result = await mistral.beta.conversations.run_async(run_ctx=context, inputs=said)
    return result.output_as_text, result.conversation_id


@pytest.mark.parametrize("transport", ["sse", "http"])
async def test_a_text_only_model_plays_a_game_against_the_engine(served, transport):
    server, fake = served
    words, _ = await asyncio.wait_for(run(fake, server.url, transport, "Let's play tic-tac-toe!"), 60)
    room_id = fact(r"room ([\w-]{22}) is over", words)
    status, history = http("GET", f"{server.url}/rooms/{room_id}/history")
    assert (status, history["status"] in ("won", "lost", "draw")) == (200, True)
    assert {move["via"] for move in history["moves"]} == {"mcp", "server"}


async def test_two_text_only_models_play_each_other_over_sse_and_streamable_http(served):
    server, fake = served
    invitation, conversation = await asyncio.wait_for(run(fake, server.url, "sse", "Let's play a friend!"), 30)
    room_id = fact(r"join room ([\w-]{22})", invitation)
    ann = run(fake, server.url, "sse", "Play on.", conversation)
    ben = run(fake, server.url, "http", f"Please join room {room_id}.")
    (ann_words, _), (ben_words, _) = await asyncio.wait_for(asyncio.gather(ann, ben), 90)
    assert ann_words == ben_words == f"The game in room {room_id} is over."
    status, room = http("GET", f"{server.url}/rooms/{room_id}")
    assert (status, room["status"], len(room["moves"]) >= 5) == (200, "finished", True)
