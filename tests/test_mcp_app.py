"""The board inside the chat (MCP Apps), in headless Chromium against the real server. The chat host is a test page
built on the SDK's own host side (AppBridge, in tests/node/host.mjs): it shows the board as a chat shows an MCP App,
and its MCP connection is a client in this test process, to which the page hands every request (the model's calls,
and the board's tools/call)."""

import re

import pytest
from fastmcp import Client
from mcp.types import TextContent
from playwright.async_api import FrameLocator, Page, expect

from tests.node_tools import FOLDER, bundle
from tests.servers import Served, http
from tests.test_browser import SCREENSHOTS
from tictactoe.doors.markdown import room_markdown
from tictactoe.doors.mcp.apps import BOARD_URI, board_document

HOST_URL = "http://host.test/"  # the host's page, answered by the test itself: nothing listens there
MCP_APP = "text/html;profile=mcp-app"  # the spec's MIME type for an app's document
ON_BOARD = {"create_room", "make_move", "get_room_state", "join_room", "wait_for_turn", "enter_queue", "leave_chat"}
FORWARDED = {  # what the host asks of the server, as this process's MCP client asks it
    "tools/list": lambda client, params: client.list_tools_mcp(),
    "tools/call": lambda client, params: client.call_tool_mcp(params["name"], params.get("arguments") or {}),
    "resources/read": lambda client, params: client.read_resource_mcp(params["uri"]),
}


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def host_files() -> dict[str, tuple[str, str]]:
    """The host's page and its script (host.mjs bundled with the SDK), by URL."""
    page = ("text/html", (FOLDER / "host.html").read_text())
    return {HOST_URL: page, f"{HOST_URL}host.js": ("text/javascript", bundle(FOLDER / "host.mjs"))}


class Host:
    """The test's chat host: its page, and every request and console error the page (and the board in it) made."""

    def __init__(self, page: Page):
        self.page = page
        self.requested: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requested.append(request.url))
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    async def show(self, name: str, arguments: dict, **options) -> dict:
        """The chat's model calls `name`; the host shows its result on the board. The result, as the host got it."""
        script = "([name, args, options]) => host.show(name, args, options)"
        return await self.page.evaluate(script, [name, arguments, options])

    async def change_context(self, **changes) -> None:
        """The host's context changes (the user picks another theme, say): the board is told what changed."""
        await self.page.evaluate("(changes) => host.changeContext(changes)", changes)

    @property
    def board(self) -> FrameLocator:
        return self.page.frame_locator("#chat iframe")

    async def calls(self, name: str) -> list[dict]:
        """The board's answered calls of `name` through the host: the arguments it sent."""
        calls = await self.page.evaluate("host.calls")
        return [call["arguments"] for call in calls if call["name"] == name]

    async def until_answered(self, name: str, count: int) -> None:
        """Until the server has answered the board's `count`-th call of `name` (a mark shows before it lands)."""
        await self.page.wait_for_function(
            "([name, count]) => host.calls.filter((call) => call.name === name).length >= count", arg=[name, count]
        )


@pytest.fixture
async def host(browser, server, host_files):
    async with Client(f"{server.url}/mcp") as client:  # sessionless 2026-07-28: the board must name room and seat

        async def forward(method: str, params: dict) -> dict:
            return (await FORWARDED[method](client, params)).model_dump(mode="json", by_alias=True, exclude_none=True)

        async def answer(route):
            content_type, body = host_files[route.request.url]
            await route.fulfill(content_type=content_type, body=body)

        page = await (await browser.new_context()).new_page()
        await page.expose_function("mcp", forward)
        await page.route(f"{HOST_URL}**", answer)
        shown = Host(page)
        await page.goto(HOST_URL)
        yield shown
        assert shown.errors == []  # a script error, or anything the no-network policy refused
        assert set(shown.requested) == set(host_files)  # the board itself fetched nothing


def cell(board: FrameLocator, index: int):
    return board.locator(f'.cell[data-cell="{index}"]')


async def win_cells(board: FrameLocator) -> list[str]:
    return [await found.get_attribute("data-cell") for found in await board.locator(".cell.win").all()]


async def test_a_game_against_the_engine_played_by_clicks_on_the_board(host, server):
    created = (await host.show("create_room", {"difficulty": "hard", "name": "Clicky"}))["structuredContent"]
    board = host.board
    await expect(board.locator("#status")).to_have_text("Your turn: you are X")
    await expect(board.locator("#players")).to_have_text("You: X · O-Bot: O (engine, hard)")
    for position in (0, 1, 3):  # hard answers the corner with the centre, blocks at 2, then wins at 6
        await cell(board, position).click()
        await expect(board.locator("#status")).not_to_have_text("O-Bot is thinking…")
    await expect(board.locator("#status")).to_have_text("O-Bot won.")
    await expect(board.locator(".cell")).to_have_text(["X", "X", "O", "X", "O", "5", "O", "7", "8"])  # hints on free
    assert await win_cells(board) == ["2", "4", "6"]
    await expect(board.locator("#said")).to_have_text(re.compile(r"^O-Bot: “.+”$"))
    assert http("GET", f"{server.url}/rooms/{created['room_id']}")[1]["winning_line"] == [2, 4, 6]
    SCREENSHOTS.mkdir(exist_ok=True)
    await host.page.screenshot(path=str(SCREENSHOTS / "mcp-app.png"), full_page=True)
    assert [(call["room_id"], call["position"]) for call in await host.calls("make_move")] == [
        (created["room_id"], position) for position in (0, 1, 3)
    ]
    await board.locator("#new-game").click()
    await expect(board.locator(".cell")).to_have_text([str(index) for index in range(9)])
    await expect(board.locator("#status")).to_have_text("Your turn: you are X")
    assert await host.calls("create_room") == [{"difficulty": "hard", "name": "Clicky"}]


async def test_a_game_for_two_on_the_board_against_a_player_over_rest(host, server):
    seated = (await host.show("create_room", {"opponent": "human", "name": "Appy"}))["structuredContent"]
    board, room_id, mine = host.board, seated["room_id"], seated["your_mark"]
    await expect(board.locator("#status")).to_have_text("Waiting for a second player to join.")
    status, joined = http("POST", f"{server.url}/rooms/{room_id}/join", {"name": "Resty"})
    assert (status, joined["your_mark"]) == (200, "O" if mine == "X" else "X")
    for turn, position in enumerate((0, 3, 1, 4, 2)):  # X takes the top row
        mark = "XO"[turn % 2]
        if mark == mine:
            await expect(board.locator("#status")).to_have_text(f"Your turn: you are {mine}", timeout=5000)
            made = len(await host.calls("make_move"))
            await cell(board, position).click()
            await host.until_answered("make_move", made + 1)
        else:
            move = {"position": position, "player_token": joined["player_token"]}
            assert http("POST", f"{server.url}/rooms/{room_id}/move", move)[0] == 200
        await expect(cell(board, position)).to_have_text(mark, timeout=5000)  # the other's, seen by wait_for_turn
    await expect(board.locator("#status")).to_have_text("You won! 🎉" if mine == "X" else "Resty won.")
    assert await win_cells(board) == ["0", "1", "2"]
    await expect(board.locator("#new-game")).to_be_hidden()
    seat = {"room_id": room_id, "player_token": seated["player_token"]}
    played = [(call["room_id"], call["player_token"], call["position"]) for call in await host.calls("make_move")]
    assert played == [(room_id, seat["player_token"], position) for position in ([0, 1, 2] if mine == "X" else [3, 4])]
    waits = await host.calls("wait_for_turn")
    assert waits and all(call == {**seat, "timeout_seconds": 25} for call in waits)


async def test_the_board_waits_in_the_queue_until_a_stranger_comes(host, server):
    waiting = (await host.show("enter_queue", {"name": "Appy"}))["structuredContent"]
    board = host.board
    await expect(board.locator("#status")).to_have_text("Waiting for a partner: you are number 1 in the queue.")
    async with Client(f"{server.url}/sse") as stranger:
        matched = (await stranger.call_tool("enter_queue", {"name": "Strange"})).structured_content
        mine = "O" if matched["your_mark"] == "X" else "X"
        waited = "Your turn: you are X" if mine == "X" else "Waiting for Strange's move…"
        await expect(board.locator("#status")).to_have_text(waited, timeout=5000)
    assert (await host.calls("enter_queue"))[-1] == {"ticket": waiting["ticket"]}


async def test_the_board_follows_the_hosts_theme_and_fits_a_phone_width_frame(host):
    await host.show("create_room", {"difficulty": "easy"}, theme="dark", width=360)
    board = host.board
    await expect(board.locator("#status")).to_have_text("Your turn: you are X")
    await expect(board.locator("body")).to_have_css("background-color", "rgb(31, 31, 35)")
    await expect(board.locator("body")).to_have_css("color", "rgb(236, 236, 241)")
    await cell(board, 4).click()
    await expect(board.locator("#status")).to_have_text("Your turn: you are X", timeout=5000)
    frame = host.page.frames[1]
    width, scrolled, height = await frame.evaluate(
        "[innerWidth, document.scrollingElement.scrollWidth, document.documentElement.getBoundingClientRect().height]"
    )
    assert (width, scrolled) == (360, 360)  # nothing runs off the frame's side
    assert (await host.page.locator("#chat iframe").bounding_box())["height"] == pytest.approx(height + 2, abs=1)
    box = await board.locator("#board").bounding_box()
    assert box["width"] == box["height"] <= 360
    await host.change_context(theme="light")
    await expect(board.locator("body")).to_have_css("background-color", "rgb(255, 255, 255)")
    await host.change_context(styles={"variables": {"--color-background-primary": "#123456"}})  # the host's colours
    await expect(board.locator("body")).to_have_css("background-color", "rgb(18, 52, 86)")


async def test_hosts_find_the_board_and_text_only_hosts_get_the_same_text(server):
    async with Client(f"{server.url}/mcp") as client:
        tools = (await client.list_tools_mcp()).tools
        pointing = {tool.name: tool.meta["ui"] for tool in tools if "ui" in tool.meta}
        assert pointing == dict.fromkeys(ON_BOARD, {"resourceUri": BOARD_URI})
        listed = [(str(found.uri), found.mime_type) for found in (await client.list_resources_mcp()).resources]
        assert listed == [(BOARD_URI, MCP_APP)]
        [content] = (await client.read_resource_mcp(BOARD_URI)).contents
        assert (str(content.uri), content.mime_type) == (BOARD_URI, MCP_APP)
        assert content.text == board_document()
        assert content.text.startswith("<!doctype html>")
        assert re.findall(r"\b(?:src|href)=|https?://", content.text) == []  # nothing to fetch: the sandbox allows none
        created = await client.call_tool_mcp("create_room", {"difficulty": "easy"})
        assert created.content == [TextContent(type="text", text=room_markdown(created.structured_content))]
